#!/usr/bin/env node
// Delivery benchmark (issues 5 and "packages at wire speed"). Build first: npm run build (or npx tsc -b).
//
//   node bench/delivery.mjs [--runs 3] [--single-mib 1024] [--skip-single] [--skip-mixed] [--skip-big] [--big-gib 4]
//
// Everything is raced side by side in one run, `--runs` times, the order rotating every run:
// 1. one package of `--single-mib` MiB (random bytes), fetched three ways, each written to disk:
//    ours (a real host agent in its own process; the target side, in its own process, pulls with the
//    agent's Mirror: mutual TLS, verified, atomic), a bare Node TLS socket (mutual TLS, SHA-256 inline,
//    fsync'd: bench/lib/tls-pipe.mjs), and the guide's `python3 -m http.server` + `wget`;
// 2. the mixed ~1 GiB / 647-file snapshot: ours, the guide's, and the guide's followed by `sync -f` (on disk,
//    as the single file's guide and ours are); then a resync with nothing new;
// 3. a `--big-gib` package (sparse on the host, real on the target): peak RSS of the pulling process.
// CPU seconds are per GiB moved, of each process (host agent, pulling agent; TLS server and client).
// The last line of stdout is one JSON object with every figure of the run, for comparing runs.
import { fork, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeBenchPki } from './lib/pki.mjs';
import { cpuSeconds } from './lib/proc.mjs';

const here = import.meta.dirname;
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'single-mib': { type: 'string', default: '1024' },
    'skip-mixed': { type: 'boolean', default: false },
    'skip-single': { type: 'boolean', default: false },
    'skip-big': { type: 'boolean', default: false },
    'big-gib': { type: 'string', default: '4' },
  },
});
const work = mkdtempSync(join(process.env.BENCH_DIR ?? '/work', '.bench-delivery-'));
const stateDir = join(work, 'host-state');
const snapDir = (id) => join(stateDir, 'roots/bench.meta/snapshots', String(id));
const MiB = 1048576;
/** BENCH_PROF=DIR: CPU profiles of the host agent and the pulling agent go to DIR (node --cpu-prof). */
const profArgs = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
const GiB = 1024 * MiB;

/** File sizes of the mixed snapshot: 2×200, 3×100, 4×50, 8×10, 30×1 MiB, 200×64 KiB, 400×1 KiB. */
const MIX = [[2, 200 * MiB], [3, 100 * MiB], [4, 50 * MiB], [8, 10 * MiB], [30, MiB], [200, 64 * 1024], [400, 1024]];

function writeRandomFile(path, size) {
  mkdirSync(dirname(path), { recursive: true });
  const hashes = ['md5', 'sha1', 'sha256'].map((a) => createHash(a));
  const fd = openSync(path, 'w');
  const block = randomBytes(Math.min(size, 4 * MiB));
  for (let done = 0; done < size; ) {
    const n = Math.min(block.length, size - done);
    block[0] ^= done & 0xff; // successive blocks differ
    const part = block.subarray(0, n);
    writeSync(fd, part);
    for (const h of hashes) h.update(part);
    done += n;
  }
  closeSync(fd);
  const [md5, sha1, sha256] = hashes.map((h) => h.digest('hex'));
  return { md5, sha1, sha256 };
}

async function hashFile(path) {
  const hashes = ['md5', 'sha1', 'sha256'].map((a) => createHash(a));
  for await (const c of createReadStream(path, { highWaterMark: 4 * MiB })) for (const h of hashes) h.update(c);
  const [md5, sha1, sha256] = hashes.map((h) => h.digest('hex'));
  return { md5, sha1, sha256 };
}

/** Lays out snapshot `id` as the host's publish step does (index, record, the host's digests). */
async function publish(id, entries) {
  const blocks = entries.map((e) => `BUILD_ID: 1\nCPV: ${e.cpv}\nMD5: ${e.md5}\nPATH: ${e.path}\nSHA1: ${e.sha1}\nSIZE: ${e.size}\n\n`);
  writeFileSync(join(snapDir(id), 'Packages'), `ARCH: amd64\nPACKAGES: ${entries.length}\nVERSION: 0\n\n${blocks.join('')}`);
  const total = entries.reduce((n, e) => n + e.size, 0);
  writeFileSync(join(snapDir(id), 'snapshot.json'), JSON.stringify({ id, root: 'bench', builtDigest: '', packageCount: entries.length, totalBytes: String(total), buildId: id }));
  const host = await import('@binhost/agent-host');
  if (host.writeSnapshotDigests) await host.writeSnapshotDigests(snapDir(id)); // as publish does, when the host has it
  // before the host starts: its snapshot store reads the pointers of known targets at startup
  mkdirSync(join(stateDir, 'targets/bench'), { recursive: true });
  writeFileSync(join(stateDir, 'targets/bench/record.json'), JSON.stringify({ name: 'bench' }));
  writeFileSync(join(stateDir, 'targets/bench/published.json'), JSON.stringify({ root: 'bench', snapshotId: 1 }));
  return total;
}

/** Runs a child to its end; resolves with the JSON lines it printed. */
async function child(argv) {
  const c = spawn(process.execPath, [...(argv[0].endsWith('pull-runner.mjs') ? profArgs : []), ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  c.stdout.on('data', (d) => (out += d));
  const [code] = await once(c, 'exit');
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}`);
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

/** Runs a shell command; resolves with its wall time and the CPU seconds of its children (bash `times`). */
function timedShell(cmd) {
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', `${cmd} && times`], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const secs = (s) => [...s.matchAll(/(\d+)m([\d.]+)s/g)].reduce((n, m) => n + Number(m[1]) * 60 + Number(m[2]), 0);
  return { ms, cpuS: secs(lines.at(-1) ?? '') };
}

const hostProcs = {};
function stopAll() {
  for (const p of Object.values(hostProcs)) if (p.exitCode === null) p.kill('SIGKILL');
}

async function main() {
  const runs = Number(opts.runs);
  const pki = await makeBenchPki(join(work, 'pki'));
  const h = await pki.issue('host', 'host');
  const t = await pki.issue('target', 'bench');
  writeFileSync(join(work, 'host.toml'), `listen = "127.0.0.1:0"\nstate_dir = "${stateDir}"\n[tls]\nca = "${h.ca}"\ncert = "${h.cert}"\nkey = "${h.key}"\n`);

  // snapshot 1: the single package; snapshot 2: the mixed set
  const singleSize = Number(opts['single-mib']) * MiB;
  const single = { path: 'bench-cat/one/one-1.0-1.gpkg.tar', cpv: 'bench-cat/one-1.0', size: singleSize };
  Object.assign(single, writeRandomFile(join(snapDir(1), single.path), singleSize));
  await publish(1, [single]);
  const entries = [];
  if (!opts['skip-mixed']) {
    let n = 0;
    for (const [count, size] of MIX) {
      for (let i = 0; i < count; i++, n++) {
        const path = `bench-cat/p${n}/p${n}-1.0-1.gpkg.tar`;
        entries.push({ path, cpv: `bench-cat/p${n}-1.0`, size, ...writeRandomFile(join(snapDir(2), path), size) });
      }
    }
    await publish(2, entries);
  }
  const mixedTotal = entries.reduce((n, e) => n + e.size, 0);
  spawnSync('sync');

  const host = (hostProcs.host = fork(join(here, 'lib/host-runner.mjs'), [join(work, 'host.toml')], { stdio: 'inherit', execArgv: [...profArgs, ...(process.env.BENCH_HOST_ARGS?.split(' ').filter(Boolean) ?? [])] }));
  const [{ port }] = await once(host, 'message');
  const pipeServer = (hostProcs.pipe = fork(join(here, 'lib/tls-pipe.mjs'), ['serve', h.ca, h.cert, h.key, snapDir(1)], { stdio: 'inherit' }));
  const [{ port: pipePort }] = await once(pipeServer, 'message');
  const httpPort = port + 1;
  const py = (hostProcs.py = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', join(stateDir, 'roots/bench.meta/snapshots'), String(httpPort)], { stdio: 'ignore' }));
  for (let i = 0; i < 100 && spawnSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${httpPort}/1/Packages`]).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  writeFileSync(join(work, 'urls-mixed.txt'), ['Packages', ...entries.map((e) => e.path)].map((p) => `http://127.0.0.1:${httpPort}/2/${p}`).join('\n') + '\n');

  const address = `127.0.0.1:${port}`;
  const ours = async (snapshotId, rounds, bytes) => {
    const mirror = join(work, 'mirror');
    const hostCpu0 = cpuSeconds(host.pid);
    const res = await child([join(here, 'lib/pull-runner.mjs'), t.ca, t.cert, t.key, address, mirror, String(rounds), String(snapshotId)]);
    const hostCpuS = cpuSeconds(host.pid) - hostCpu0;
    rmSync(mirror, { recursive: true, force: true });
    const [first, ...rest] = res;
    return { s: first.ms / 1000, targetCpuPerGiB: (first.cpuS / bytes) * GiB, targetSysCpuPerGiB: (first.sysS / bytes) * GiB, hostCpuPerGiB: (hostCpuS / bytes) * GiB, peakRssMiB: first.maxRssMiB, resyncMs: rest[0]?.ms, resyncBytes: rest[0]?.bytes };
  };
  const ways = {
    single: opts['skip-single'] ? {} : {
      ours: () => ours(1, 1, singleSize),
      tls: async () => {
        const out = join(work, 'tls-out');
        const cpu0 = cpuSeconds(pipeServer.pid);
        const [r] = await child([join(here, 'lib/tls-pipe.mjs'), 'fetch', t.ca, t.cert, t.key, String(pipePort), single.path, out, single.sha256]);
        const serverCpu = cpuSeconds(pipeServer.pid) - cpu0;
        rmSync(out, { force: true });
        return { s: r.ms / 1000, clientCpuPerGiB: (r.cpuS / singleSize) * GiB, serverCpuPerGiB: (serverCpu / singleSize) * GiB };
      },
      guide: async () => {
        const cpu0 = cpuSeconds(py.pid);
        const r = timedShell(`wget -q -O ${join(work, 'wget-one')} http://127.0.0.1:${httpPort}/1/${single.path} && sync -f ${join(work, 'wget-one')}`);
        const serverCpu = cpuSeconds(py.pid) - cpu0;
        rmSync(join(work, 'wget-one'), { force: true });
        return { s: r.ms / 1000, clientCpuPerGiB: (r.cpuS / singleSize) * GiB, serverCpuPerGiB: (serverCpu / singleSize) * GiB };
      },
    },
    mixed: opts['skip-mixed']
      ? {}
      : {
          ours: () => ours(2, 2, mixedTotal),
          guide: async () => {
            const dir = join(work, 'wget');
            const r = timedShell(`wget -q -x -nH -P ${dir} -i ${join(work, 'urls-mixed.txt')}`);
            rmSync(dir, { recursive: true, force: true });
            return { s: r.ms / 1000, clientCpuPerGiB: (r.cpuS / mixedTotal) * GiB };
          },
          // the same, then on disk as the single file's guide and ours are (sync -f: one syncfs)
          guideOnDisk: async () => {
            const dir = join(work, 'wget');
            const r = timedShell(`wget -q -x -nH -P ${dir} -i ${join(work, 'urls-mixed.txt')} && sync -f ${dir}`);
            rmSync(dir, { recursive: true, force: true });
            return { s: r.ms / 1000, clientCpuPerGiB: (r.cpuS / mixedTotal) * GiB };
          },
        },
  };
  const results = { single: {}, mixed: {} };
  for (let run = 0; run < runs; run++) {
    for (const set of ['single', 'mixed']) {
      const names = Object.keys(ways[set]);
      const order = names.map((_, i) => names[(i + run) % names.length]); // rotate who goes first
      for (const name of order) {
        spawnSync('sync');
        const r = await ways[set][name]();
        (results[set][name] ??= []).push(r);
        console.error(`run ${run + 1}/${runs} ${set} ${name}: ${r.s.toFixed(2)} s ${JSON.stringify(r, (_k, v) => (typeof v === 'number' ? Number(v.toFixed(3)) : v))}`);
      }
    }
  }
  py.kill();
  pipeServer.send({ op: 'stop' });

  const stats = (xs) => {
    const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
    return { min: s[0], median: s[Math.floor((s.length - 1) / 2)], max: s.at(-1) };
  };
  const f = (st, d = 2) => `${st.median.toFixed(d)} (${st.min.toFixed(d)}–${st.max.toFixed(d)})`;
  const summary = { runs, single: {}, mixed: {} };
  for (const set of ['single', 'mixed']) {
    for (const [name, rs] of Object.entries(results[set])) {
      const row = {};
      for (const k of Object.keys(rs[0])) if (typeof rs[0][k] === 'number') row[k] = stats(rs.map((r) => r[k]));
      summary[set][name] = row;
    }
  }
  const so = summary.single;
  if (!opts['skip-single']) {
  console.log(`\n## one ${opts['single-mib']} MiB package, ${runs} runs: median (min–max)`);
  console.log(`| way | seconds | CPU s/GiB receiver | CPU s/GiB sender |\n| --- | --- | --- | --- |`);
  console.log(`| ours (mTLS, bulk connections, SHA-256 verified, on disk) | ${f(so.ours.s)} | ${f(so.ours.targetCpuPerGiB)} (kernel ${f(so.ours.targetSysCpuPerGiB)}) | ${f(so.ours.hostCpuPerGiB)} |`);
  console.log(`| bare TLS socket, mTLS, SHA-256 inline, on disk | ${f(so.tls.s)} | ${f(so.tls.clientCpuPerGiB)} | ${f(so.tls.serverCpuPerGiB)} |`);
  console.log(`| guide: python3 -m http.server + wget | ${f(so.guide.s)} | ${f(so.guide.clientCpuPerGiB)} | ${f(so.guide.serverCpuPerGiB)} |`);
  const ratios = results.single.ours.map((r, i) => r.s / results.single.tls[i].s);
  summary.single.oursOverTls = stats(ratios);
  const cpuTotals = results.single.ours.map((r) => r.targetCpuPerGiB + r.hostCpuPerGiB);
  summary.single.oursCpuPerGiB = stats(cpuTotals);
  console.log(`ours / TLS socket time, per run: ${f(summary.single.oursOverTls)} (goal ≤ 1.5)`);
  // what the yardstick itself reaches against the guide on this machine
  summary.single.guideOverTls = stats(results.single.guide.map((r, i) => r.s / results.single.tls[i].s));
  console.log(`guide time / TLS socket time, per run: ${f(summary.single.guideOverTls)}`);
  console.log(`ours, CPU s per GiB, both agents: ${f(summary.single.oursCpuPerGiB)} (goal ≤ 5)`);
  }
  if (!opts['skip-mixed']) {
    const mo = summary.mixed;
    summary.mixed.guideOverOurs = stats(results.mixed.ours.map((r, i) => results.mixed.guide[i].s / r.s));
    console.log(`\n## mixed ${(mixedTotal / MiB).toFixed(0)} MiB, ${entries.length} files, ${runs} runs: median (min–max)`);
    console.log(`ours: ${f(mo.ours.s)} s, CPU s/GiB target ${f(mo.ours.targetCpuPerGiB)}, host ${f(mo.ours.hostCpuPerGiB)}, peak RSS ${f(mo.ours.peakRssMiB, 0)} MiB`);
    console.log(`guide: ${f(mo.guide.s)} s`);
    summary.mixed.guideOnDiskOverOurs = stats(results.mixed.ours.map((r, i) => results.mixed.guideOnDisk[i].s / r.s));
    console.log(`guide, then sync -f: ${f(mo.guideOnDisk.s)} s`);
    console.log(`guide time / our time, per run: ${f(summary.mixed.guideOverOurs)} (goal ≥ 0.75); on disk as ours: ${f(summary.mixed.guideOnDiskOverOurs)}`);
    console.log(`resync with nothing new: ${f(mo.ours.resyncMs, 0)} ms, ${results.mixed.ours[0].resyncBytes} package bytes (goal < 200 ms)`);
  }

  if (!opts['skip-big']) {
    const size = Number(opts['big-gib']) * GiB;
    const path = 'bench-cat/huge/huge-1.0-1.gpkg.tar';
    mkdirSync(dirname(join(snapDir(3), path)), { recursive: true });
    const fd = openSync(join(snapDir(3), path), 'w');
    ftruncateSync(fd, size); // sparse: no host disk used
    closeSync(fd);
    const big = { path, cpv: 'bench-cat/huge-1.0', size, ...(await hashFile(join(snapDir(3), path))) };
    await publish(3, [big]);
    const r = await ours(3, 1, size);
    summary.big = { gib: Number(opts['big-gib']), ...r };
    console.log(`\n## one ${opts['big-gib']} GiB package: ${r.s.toFixed(1)} s, peak RSS of the pulling process ${r.peakRssMiB.toFixed(1)} MiB (goal ≤ 150)`);
  }
  host.send({ op: 'stop' });
  await once(host, 'exit');
  console.log(JSON.stringify(summary, (_k, v) => (typeof v === 'number' ? Number(v.toFixed(3)) : v)));
}

try {
  await main();
} finally {
  stopAll();
  rmSync(work, { recursive: true, force: true });
}
