#!/usr/bin/env node
/**
 * Issue 3 benchmarks, on the built JavaScript (`npm run build` first):
 *
 *   node bench/target-state.mjs [--runs N] [--idle-seconds S] [--agent-node-flag=--max-semi-space-size=1 …]
 *
 * 1. snapshot + digest of an etc/portage with 2,000 files (budget 200 ms): walkTree + stateDigest,
 *    and the whole collectTargetState (which also runs gcc and reads /proc/cpuinfo) for reference;
 * 2. an editor save in etc/portage → the host holds the new state, over mTLS on loopback, with the
 *    default report.debounce_ms (budget 1.5 s median);
 * 3. an idle target agent (its own process, `binhost-target`): CPU % and RSS (budget < 0.5 %, ≤ 80 MiB).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCa, issueCertificate, loadHostConfig, loadTargetConfig, pkiPaths, silentLogger, stateDigest, writeCertifiedKey } from '@binhost/shared';
import { HostDaemon } from '@binhost/agent-host';
import { collectTargetState, TargetDaemon, walkTree } from '@binhost/agent-target';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, 'idle-seconds': { type: 'string', default: '20' }, 'agent-node-flag': { type: 'string', multiple: true, default: [] } },
});
const RUNS = Number(values.runs);
const IDLE_S = Number(values['idle-seconds']);
const SERVER_NAME = 'binhost.test';
const here = dirname(fileURLToPath(import.meta.url));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${ms.toFixed(1)} ms`;
const put = async (file, text) => {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
};
const editorSave = async (file, text) => {
  const tmp = join(dirname(file), `.bench.${process.pid}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
};

/** A 2,000-file etc/portage: package.* directories, env/, patches/, make.conf, make.profile, world. */
async function makeTree(root, files = 2000) {
  const dirs = ['package.use', 'package.accept_keywords', 'package.mask', 'package.env', 'env', 'patches/app-misc/hello'];
  await put(join(root, 'etc/portage/make.conf'), 'COMMON_FLAGS="-O2 -pipe -march=native"\nCFLAGS="${COMMON_FLAGS}"\n');
  await symlink('../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0', join(root, 'etc/portage/make.profile'));
  await put(join(root, 'var/lib/portage/world'), Array.from({ length: 300 }, (_, i) => `app-misc/pkg${i}`).join('\n') + '\n');
  for (let i = 0; i < files - 2; i++) {
    const d = dirs[i % dirs.length];
    await put(join(root, 'etc/portage', d, `f${i}`), `# file ${i}\n` + `app-misc/pkg${i} flag${i % 7} -other${i % 5}\n`.repeat(4));
  }
}

async function makePki(dir) {
  const ca = await createCa();
  await writeCertifiedKey(pkiPaths.caCert(dir), pkiPaths.caKey(dir), ca);
  const issued = new Set();
  const files = async (role, name) => {
    const cert = pkiPaths.cert(dir, role, name);
    const key = pkiPaths.key(dir, role, name);
    if (issued.has(cert)) return { ca: pkiPaths.caCert(dir), cert, key };
    issued.add(cert);
    await writeCertifiedKey(cert, key, await issueCertificate({ ca, role, name, ...(role === 'host' ? { sans: [SERVER_NAME] } : {}) }));
    return { ca: pkiPaths.caCert(dir), cert, key };
  };
  return { files };
}

const tlsToml = (t) => `[tls]\nca = ${JSON.stringify(t.ca)}\ncert = ${JSON.stringify(t.cert)}\nkey = ${JSON.stringify(t.key)}\n`;

async function startHost(dir, pki) {
  const file = join(dir, 'host.toml');
  await put(file, `listen = "127.0.0.1:0"\nstate_dir = ${JSON.stringify(join(dir, 'host-state'))}\n${tlsToml(await pki.files('host', 'host'))}`);
  const daemon = new HostDaemon({ config: await loadHostConfig(file), log: silentLogger(), shutdownGraceMs: 1000 });
  const port = await daemon.start();
  return { daemon, port };
}

async function targetToml(dir, pki, port, root) {
  const file = join(dir, 'target.toml');
  await put(
    file,
    `host = "127.0.0.1:${port}"\nserver_name = "${SERVER_NAME}"\nroot = ${JSON.stringify(root)}\nstate_dir = ${JSON.stringify(join(dir, 'target-state'))}\n${tlsToml(await pki.files('target', 'alpha'))}`,
  );
  return file;
}

async function benchSnapshot(base) {
  const root = join(base, 'snap-root');
  await makeTree(root);
  const walkTimes = [];
  const fullTimes = [];
  let count = 0;
  for (let i = 0; i < RUNS + 1; i++) {
    let t = performance.now();
    const tree = await walkTree('etc/portage', { root, maxFileBytes: 1 << 20 });
    stateDigest(tree.entries);
    if (i > 0) walkTimes.push(performance.now() - t);
    count = tree.entries.filter((e) => e.kind !== 3 && e.kind !== 2).length + tree.entries.filter((e) => e.kind === 3).length;
    t = performance.now();
    await collectTargetState({ root, maxFileBytes: 1 << 20, log: silentLogger() });
    if (i > 0) fullTimes.push(performance.now() - t);
  }
  return { files: count, walk: median(walkTimes), full: median(fullTimes) };
}

async function benchSaveToHost(base, pki) {
  const root = join(base, 'save-root');
  await makeTree(root, 200);
  const host = await startHost(join(base, 'host1'), pki);
  const config = await loadTargetConfig(await targetToml(join(base, 'alpha1'), pki, host.port, root));
  const target = new TargetDaemon({ config, log: silentLogger() });
  await target.start();
  const times = [];
  try {
    while (host.daemon.registry.currentDigest('alpha') !== target.monitor.digest) await new Promise((r) => host.daemon.registry.once('state', r));
    for (let i = 0; i < RUNS; i++) {
      const marker = `run-${i}-${Date.now()}`;
      const arrived = new Promise((resolve) => {
        const on = (e) => {
          if (!e.state.files.some((f) => f.path === 'etc/portage/make.conf' && f.content.toString().includes(marker))) return;
          host.daemon.registry.off('state', on);
          resolve(performance.now());
        };
        host.daemon.registry.on('state', on);
      });
      const t0 = performance.now();
      await editorSave(join(root, 'etc/portage/make.conf'), `CFLAGS="-O2" # ${marker}\n`);
      times.push((await arrived) - t0);
    }
  } finally {
    await target.stop();
    await host.daemon.stop();
  }
  return { debounceMs: config.report.debounceMs, median: median(times), min: Math.min(...times), max: Math.max(...times) };
}

/** CPU ticks (user+system) and RSS of a process from /proc. */
async function procUsage(pid) {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))[1]);
  return { ticks, rssKiB };
}

async function benchIdle(base, pki) {
  const root = join(base, 'idle-root');
  await makeTree(root, 200);
  const host = await startHost(join(base, 'host2'), pki);
  const file = await targetToml(join(base, 'alpha2'), pki, host.port, root);
  const child = spawn(process.execPath, [...values['agent-node-flag'], join(here, '../packages/agent-target/dist/main.js'), '--config', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    while (!host.daemon.registry.currentDigest('alpha')) await new Promise((r) => host.daemon.registry.once('state', r));
    // Let start-up work (JIT, first report) settle before measuring the idle period.
    await new Promise((r) => setTimeout(r, 2000));
    const a = await procUsage(child.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const b = await procUsage(child.pid);
    const seconds = (performance.now() - t0) / 1000;
    const hz = 100; // USER_HZ on Linux
    return { cpuPercent: ((b.ticks - a.ticks) / hz / seconds) * 100, rssMiB: b.rssKiB / 1024, seconds };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await host.daemon.stop();
  }
}

const base = await mkdtemp(join(tmpdir(), 'binhost-bench-'));
try {
  const pki = await makePki(join(base, 'pki'));
  const snap = await benchSnapshot(base);
  console.log(`snapshot+digest of etc/portage, ${snap.files} files: median ${fmt(snap.walk)} (budget 200 ms, ratio ${(snap.walk / 200).toFixed(2)}); whole collectTargetState incl. gcc: ${fmt(snap.full)}`);
  const save = await benchSaveToHost(base, pki);
  console.log(`save → host holds new state (debounce ${save.debounceMs} ms, ${RUNS} runs): median ${fmt(save.median)} (min ${fmt(save.min)}, max ${fmt(save.max)}; budget 1500 ms, ratio ${(save.median / 1500).toFixed(2)})`);
  const idle = await benchIdle(base, pki);
  console.log(`idle target agent over ${idle.seconds.toFixed(0)} s: CPU ${idle.cpuPercent.toFixed(3)} % (budget 0.5 %), RSS ${idle.rssMiB.toFixed(1)} MiB (budget 80 MiB)`);
} finally {
  await rm(base, { recursive: true, force: true });
}
