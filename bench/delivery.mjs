#!/usr/bin/env node
// Delivery benchmark (issue 5). Build first: npm run build (or npx tsc -b).
//
//   node bench/delivery.mjs [--gib 1] [--big-gib 4] [--skip-big]
//
// 1. A ~1 GiB snapshot of mixed files (1 KiB – 200 MiB, random bytes) is published for one target
//    by a real host agent (own process). The target side (own process) pulls it over mutual TLS
//    with the agent's Mirror: chunked FetchFile, SIZE+MD5+SHA1 verified, atomic placement. In the
//    same run the guide's way fetches the same files: `python3 -m http.server` + `wget` (no
//    verification). Ratio = guide time / our time (≥ 1.0: we are at least as fast).
// 2. Resync with nothing new: bytes fetched and time.
// 3. A 4 GiB package (sparse on the host, real on the target): peak RSS of the pulling process.
import { fork, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync, writeSync, ftruncateSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { makeBenchPki } from './lib/pki.mjs';

const here = import.meta.dirname;
const { values: opts } = parseArgs({ options: { 'skip-big': { type: 'boolean', default: false }, 'big-gib': { type: 'string', default: '4' } } });
const work = mkdtempSync(join(process.env.BENCH_DIR ?? '/work', '.bench-delivery-'));
const stateDir = join(work, 'host-state');
const snapDir = (id) => join(stateDir, 'roots/bench.meta/snapshots', String(id));
const MiB = 1048576;

/** File sizes of the mixed snapshot: 2×200, 3×100, 4×50, 8×10, 30×1 MiB, 200×64 KiB, 400×1 KiB. */
const MIX = [[2, 200 * MiB], [3, 100 * MiB], [4, 50 * MiB], [8, 10 * MiB], [30, MiB], [200, 64 * 1024], [400, 1024]];

function writeRandomFile(path, size) {
  mkdirSync(dirname(path), { recursive: true });
  const md5 = createHash('md5');
  const sha1 = createHash('sha1');
  const fd = openSync(path, 'w');
  const block = randomBytes(Math.min(size, 4 * MiB));
  for (let done = 0; done < size; ) {
    const n = Math.min(block.length, size - done);
    block[0] ^= done & 0xff; // successive blocks differ
    const part = block.subarray(0, n);
    writeSync(fd, part);
    md5.update(part);
    sha1.update(part);
    done += n;
  }
  closeSync(fd);
  return { md5: md5.digest('hex'), sha1: sha1.digest('hex') };
}

async function hashFile(path) {
  const md5 = createHash('md5');
  const sha1 = createHash('sha1');
  for await (const c of createReadStream(path, { highWaterMark: 4 * MiB })) (md5.update(c), sha1.update(c));
  return { md5: md5.digest('hex'), sha1: sha1.digest('hex') };
}

function publish(id, entries) {
  const blocks = entries.map((e) => `BUILD_ID: 1\nCPV: ${e.cpv}\nMD5: ${e.md5}\nPATH: ${e.path}\nSHA1: ${e.sha1}\nSIZE: ${e.size}\n\n`);
  writeFileSync(join(snapDir(id), 'Packages'), `ARCH: amd64\nPACKAGES: ${entries.length}\nVERSION: 0\n\n${blocks.join('')}`);
  const total = entries.reduce((n, e) => n + e.size, 0);
  writeFileSync(join(snapDir(id), 'snapshot.json'), JSON.stringify({ id, root: 'bench', builtDigest: '', packageCount: entries.length, totalBytes: String(total), buildId: id }));
  // before the host starts: its snapshot store reads the pointers of known targets at startup
  mkdirSync(join(stateDir, 'targets/bench'), { recursive: true });
  writeFileSync(join(stateDir, 'targets/bench/record.json'), JSON.stringify({ name: 'bench' }));
  if (id === 1) writeFileSync(join(stateDir, 'targets/bench/published.json'), JSON.stringify({ root: 'bench', snapshotId: id }));
  return total;
}

function run(argv, options = {}) {
  const t0 = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 26, ...options });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return { ms: performance.now() - t0, stdout: r.stdout };
}

let targetCert;
/** The host agent's process, killed if the run fails so that it never outlives the benchmark. */
let host;
async function pull(pki, address, mirrorDir, rounds = 1, snapshotId = 0) {
  const t = (targetCert ??= await pki.issue('target', 'bench'));
  const child = spawn(process.execPath, [join(here, 'lib/pull-runner.mjs'), t.ca, t.cert, t.key, address, mirrorDir, String(rounds), String(snapshotId)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`pull-runner exited ${code}`);
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

async function main() {
  const pki = await makeBenchPki(join(work, 'pki'));
  const h = await pki.issue('host', 'host');
  writeFileSync(join(work, 'host.toml'), `listen = "127.0.0.1:0"\nstate_dir = "${stateDir}"\n[tls]\nca = "${h.ca}"\ncert = "${h.cert}"\nkey = "${h.key}"\n`);

  // 1. the mixed snapshot
  const entries = [];
  let n = 0;
  for (const [count, size] of MIX) {
    for (let i = 0; i < count; i++, n++) {
      const path = `bench-cat/p${n}/p${n}-1.0-1.gpkg.tar`;
      entries.push({ path, cpv: `bench-cat/p${n}-1.0`, size, ...writeRandomFile(join(snapDir(1), path), size) });
    }
  }
  const total = publish(1, entries);
  spawnSync('sync');
  host = fork(join(here, 'lib/host-runner.mjs'), [join(work, 'host.toml')], { stdio: 'inherit' });
  const [{ port }] = await once(host, 'message');
  const address = `127.0.0.1:${port}`;

  const ours = (await pull(pki, address, join(work, 'mirror'), 2));
  // the guide's way, same files, same run
  const httpPort = port + 1;
  const py = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', snapDir(1), String(httpPort)], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (spawnSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${httpPort}/Packages`]).status === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  writeFileSync(join(work, 'urls.txt'), ['Packages', ...entries.map((e) => e.path)].map((p) => `http://127.0.0.1:${httpPort}/${p}`).join('\n') + '\n');
  const wget = run(['wget', '-q', '-x', '-nH', '-P', join(work, 'wget'), '-i', join(work, 'urls.txt')]);
  py.kill();
  const first = ours[0];
  const resync = ours[1];
  const ratio = wget.ms / first.ms;
  console.log(`\n## pull ${(total / MiB).toFixed(0)} MiB, ${entries.length} files (1 KiB – 200 MiB)`);
  console.log(`ours (mTLS gRPC FetchFile, SIZE+MD5+SHA1 verified, atomic): ${(first.ms / 1000).toFixed(2)} s = ${(total / MiB / (first.ms / 1000)).toFixed(0)} MiB/s, peak RSS ${first.maxRssMiB.toFixed(0)} MiB`);
  console.log(`guide (python3 -m http.server + wget, no verification):     ${(wget.ms / 1000).toFixed(2)} s = ${(total / MiB / (wget.ms / 1000)).toFixed(0)} MiB/s`);
  console.log(`ratio (guide time / our time): ${ratio.toFixed(2)}x`);
  console.log(`\n## resync with nothing new: ${resync.bytes} package bytes, ${resync.files} files, ${resync.ms.toFixed(0)} ms`);
  rmSync(join(work, 'wget'), { recursive: true, force: true });
  rmSync(join(work, 'mirror'), { recursive: true, force: true });

  // 3. one big package
  if (!opts['skip-big']) {
    rmSync(snapDir(1), { recursive: true, force: true });
    const size = Number(opts['big-gib']) * 1024 * MiB;
    const path = 'bench-cat/huge/huge-1.0-1.gpkg.tar';
    mkdirSync(dirname(join(snapDir(2), path)), { recursive: true });
    const fd = openSync(join(snapDir(2), path), 'w');
    ftruncateSync(fd, size); // sparse: no host disk used
    closeSync(fd);
    const big = { path, cpv: 'bench-cat/huge-1.0', size, ...(await hashFile(join(snapDir(2), path))) };
    publish(2, [big]);
    const [r] = await pull(pki, address, join(work, 'mirror-big'), 1, 2); // snapshot 2 of the same root
    console.log(`\n## one ${opts['big-gib']} GiB package: ${(r.ms / 1000).toFixed(1)} s (${(size / MiB / (r.ms / 1000)).toFixed(0)} MiB/s), peak RSS of the pulling process ${r.maxRssMiB.toFixed(1)} MiB (goal ≤ 150)`);
  }
  host.send({ op: 'stop' });
  await once(host, 'exit');
}

try {
  await main();
} finally {
  if (host && host.exitCode === null) host.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
