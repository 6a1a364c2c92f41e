#!/usr/bin/env node
// Issue 6 benchmark: N simulated targets connected to one host agent; a published snapshot must
// reach all of them with p99 < 1 s; host RSS < 500 MiB. Also one real idle target agent: RSS ≤ 80 MiB,
// CPU < 0.5 %.
//
//   npm run build && node bench/many-targets.mjs [--targets 500] [--rounds 5] [--idle-seconds 20]
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { makeBenchPki } from './lib/pki.mjs';
import { rssMiB, cpuSeconds, percentile } from './lib/proc.mjs';

const { values } = parseArgs({ options: { targets: { type: 'string', default: '500' }, rounds: { type: 'string', default: '5' }, 'idle-seconds': { type: 'string', default: '20' } } });
const N = Number(values.targets);
const here = import.meta.dirname;
const work = mkdtempSync(join(tmpdir(), 'binhost-bench-'));
const children = [];
try {
  const pki = await makeBenchPki(join(work, 'pki'));
  const host = await pki.issue('host', 'bench-host');
  const tls = (f) => `[tls]\nca = "${f.ca}"\ncert = "${f.cert}"\nkey = "${f.key}"\n`;
  writeFileSync(join(work, 'host.toml'), `listen = "127.0.0.1:0"\nstate_dir = "${work}/state"\n${tls(host)}`);
  const hostProc = fork(join(here, 'lib/host-runner.mjs'), [join(work, 'host.toml')]);
  children.push(hostProc);
  const [{ port }] = await once(hostProc, 'message');
  const address = `127.0.0.1:${port}`;
  const rssBefore = rssMiB(hostProc.pid);

  const t0 = Date.now();
  const targets = [];
  for (let i = 0; i < N; i++) {
    const f = await pki.issue('target', `t${i}`);
    targets.push({ name: `t${i}`, ca: readFileSync(f.ca, 'utf8'), cert: readFileSync(f.cert, 'utf8'), key: readFileSync(f.key, 'utf8') });
  }
  writeFileSync(join(work, 'swarm.json'), JSON.stringify({ address, targets }));
  console.log(`issued ${N} target certificates in ${Date.now() - t0} ms`);

  const swarm = fork(join(here, 'lib/swarm.mjs'), [join(work, 'swarm.json')]);
  children.push(swarm);
  const t1 = Date.now();
  const nextFrom = (proc, op) => new Promise((res, rej) => {
    const on = (m) => { if (m.op === op) { proc.off('message', on); res(m); } else if (m.op === 'error') rej(new Error(m.message)); };
    proc.on('message', on);
  });
  await nextFrom(swarm, 'ready');
  console.log(`${N} targets connected in ${Date.now() - t1} ms`);

  const rounds = Number(values.rounds);
  const all = [];
  for (let r = 1; r <= rounds; r++) {
    const got = nextFrom(swarm, 'received');
    hostProc.send({ op: 'publish', snapshotId: r });
    const res = await got;
    all.push(...res.latencies);
    console.log(`round ${r}: p50 ${percentile(res.latencies, 50)} ms, p99 ${percentile(res.latencies, 99)} ms, max ${Math.max(...res.latencies)} ms`);
  }
  const hostRss = rssMiB(hostProc.pid);

  // one real target agent process, idle
  const agent = await pki.issue('target', 'idle-agent');
  mkdirSync(join(work, 'idle-root'));
  writeFileSync(join(work, 'target.toml'), `host = "${address}"\nserver_name = "binhost.bench"\nroot = "${work}/idle-root"\nstate_dir = "${work}/idle-state"\nlog_level = "warn"\n${tls(agent)}`);
  const idle = spawn(process.execPath, [resolve(here, '../packages/agent-target/dist/main.js'), '--config', join(work, 'target.toml')], {
    stdio: 'ignore',
  });
  children.push(idle);
  await new Promise((r) => setTimeout(r, 3000)); // let it start and connect before measuring idle time
  const idleSeconds = Number(values['idle-seconds']);
  const cpu0 = cpuSeconds(idle.pid);
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const cpuPct = ((cpuSeconds(idle.pid) - cpu0) / idleSeconds) * 100;
  const idleRss = rssMiB(idle.pid);

  const p99 = percentile(all, 99);
  console.log('\n| measure | value | goal | ratio to goal |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| snapshot event → all ${N} targets, p99 over ${rounds} rounds | ${p99} ms | < 1000 ms | ${(p99 / 1000).toFixed(3)} |`);
  console.log(`| host RSS with ${N} targets connected | ${hostRss.toFixed(1)} MiB (${rssBefore.toFixed(1)} MiB before) | < 500 MiB | ${(hostRss / 500).toFixed(3)} |`);
  console.log(`| idle target agent RSS | ${idleRss.toFixed(1)} MiB | ≤ 80 MiB | ${(idleRss / 80).toFixed(3)} |`);
  console.log(`| idle target agent CPU over ${idleSeconds} s | ${cpuPct.toFixed(3)} % | < 0.5 % | ${(cpuPct / 0.5).toFixed(3)} |`);
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
