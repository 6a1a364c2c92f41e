#!/usr/bin/env node
// The README's demo: a generated PKI in a temp dir, the host and target agents as real processes
// on loopback, and `binhostctl targets` showing the target connected. Cleans up after itself.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
const bin = {
  host: join(repo, 'packages/agent-host/dist/main.js'),
  target: join(repo, 'packages/agent-target/dist/main.js'),
  ctl: join(repo, 'packages/cli/dist/main.js'),
};
const work = mkdtempSync(join(tmpdir(), 'binhost-demo-'));
const pki = join(work, 'pki');
const children = [];
const step = (msg) => console.log(`\n==> ${msg}`);

function ctl(...args) {
  const res = spawnSync(process.execPath, [bin.ctl, ...args], {
    encoding: 'utf8',
    env: { ...process.env, BINHOST_ADMIN_CONFIG: join(work, 'admin.toml') },
  });
  process.stdout.write(res.stdout.replace(/^(?=.)/gm, "    "));
  if (res.status !== 0) throw new Error(`binhostctl ${args.join(' ')} failed (${res.status}): ${res.stderr}`);
  return res.stdout;
}

function start(name, file, config) {
  const child = spawn(process.execPath, [file, '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (d) => {
    for (const line of d.toString().split('\n').filter(Boolean)) {
      try {
        const j = JSON.parse(line);
        console.log(`    [${name}] ${j.msg}`);
      } catch {
        console.log(`    [${name}] ${line}`);
      }
    }
  });
  children.push(child);
  return child;
}

async function waitUntil(check, what, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const tls = (role, name) => `[tls]\nca = "${pki}/ca.pem"\ncert = "${pki}/${role}-${name}.pem"\nkey = "${pki}/${role}-${name}.key"\n`;

try {
  step(`generating a PKI in ${pki}`);
  ctl('pki', 'init', '--dir', pki);
  ctl('pki', 'issue', 'host', 'demo-host', '--san', 'localhost', '--dir', pki);
  ctl('pki', 'issue', 'target', 'demo-target', '--dir', pki);
  ctl('pki', 'issue', 'admin', 'demo-admin', '--dir', pki);

  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(join(work, 'host.toml'), `listen = "127.0.0.1:${port}"\nstate_dir = "${work}/host-state"\n${tls('host', 'demo-host')}`);
  mkdirSync(join(work, 'target-root'));
  writeFileSync(join(work, 'target.toml'), `host = "localhost:${port}"\nroot = "${work}/target-root"\nstate_dir = "${work}/target-state"\n${tls('target', 'demo-target')}`);
  writeFileSync(join(work, 'admin.toml'), `host = "localhost:${port}"\n${tls('admin', 'demo-admin')}`);

  step(`starting the host agent on 127.0.0.1:${port} (the only listener)`);
  start('host', bin.host, join(work, 'host.toml'));
  step('starting the target agent (it dials the host)');
  start('target', bin.target, join(work, 'target.toml'));

  step('binhostctl targets');
  await waitUntil(() => {
    const res = spawnSync(process.execPath, [bin.ctl, '--json', 'targets'], {
      encoding: 'utf8',
      env: { ...process.env, BINHOST_ADMIN_CONFIG: join(work, 'admin.toml') },
    });
    return res.status === 0 && JSON.parse(res.stdout).some((t) => t.name === 'demo-target' && t.connected);
  }, 'the target to connect');
  ctl('targets');
  step('done: the target is connected over mutual TLS');
} catch (err) {
  console.error(`demo failed: ${err.message}`);
  process.exitCode = 1;
} finally {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r)))));
  rmSync(work, { recursive: true, force: true });
  step('stopped both agents and removed the temp dir');
}
