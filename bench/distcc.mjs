#!/usr/bin/env node
// The same real-Portage build with 0, 1 and 2 distcc helpers (real distccd on loopback ports).
//
//   node bench/distcc.mjs [--units 16] [--runs 2]
//
// A generated package of UNITS translation units (≈0.5 s of gcc -O2 each here) is built with
// `emerge --oneshot` by the pinned real Portage (scripts/portage.mjs machine), with exactly the
// environment the host agent gives a build (distccEnv from @binhost/agent-host: FEATURES=distcc,
// DISTCC_HOSTS, MAKEOPTS from the helpers' limits). Not in the build sandbox: bwrap costs the same
// in every case. Prints wall time of the whole emerge and of src_compile, and where the jobs ran
// (from distcc's own log). On one machine the helpers share its cores: this shows distcc's
// overhead, not a speed-up; see bench/RESULTS.md for what it means for real helpers.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, closeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { makeMachine } from '../scripts/portage.mjs';
import { distccEnv, summarizeDistccLog, makeJobs } from '@binhost/agent-host';

const { values } = parseArgs({ options: { units: { type: 'string', default: '16' }, runs: { type: 'string', default: '3' } } });
const UNITS = Number(values.units);
const RUNS = Number(values.runs);
/** Our distccd process groups, stopped on the way out (distccd signals its own group). */
function stopHelpers() {
  for (const c of children) if (c.exitCode === null) process.kill(-c.pid, 'SIGTERM');
}
const CFLAGS = '-O2 -pipe -march=x86-64-v3';

const dir = mkdtempSync(join(tmpdir(), 'binhost-bench-distcc-'));
const children = [];
process.on('exit', () => {
  stopHelpers();
  rmSync(dir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

/** A repository with bench-misc/load-1.0: UNITS generated translation units and a Makefile. */
function makeRepo() {
  const repo = join(dir, 'repo');
  const files = join(repo, 'bench-misc/load/files');
  mkdirSync(files, { recursive: true });
  mkdirSync(join(repo, 'metadata'), { recursive: true });
  mkdirSync(join(repo, 'profiles/bench'), { recursive: true });
  writeFileSync(join(repo, 'metadata/layout.conf'), 'masters =\nthin-manifests = true\n');
  writeFileSync(join(repo, 'profiles/repo_name'), 'gentoo\n');
  writeFileSync(join(repo, 'profiles/categories'), 'bench-misc\n');
  writeFileSync(join(repo, 'profiles/bench/make.defaults'), 'ARCH="amd64"\nCHOST="x86_64-pc-linux-gnu"\nACCEPT_KEYWORDS="amd64"\nELIBC="glibc"\nKERNEL="linux"\nUSERLAND="GNU"\n');
  writeFileSync(join(repo, 'profiles/bench/eapi'), '8\n');
  const objs = [];
  for (let u = 0; u < UNITS; u++) {
    const fns = [];
    for (let f = 0; f < 60; f++) {
      fns.push(`double u${u}f${f}(const double *a, double *b, int n){double s=0;for(int i=0;i<n;i++){b[i]=a[i]*${f + 1}.5+b[i]/(${f + u}+2.0);s+=b[i]*a[(i*${f + 3})%n];}` +
        `for(int j=0;j<n;j++){switch((j*${f})%7){case 0:s+=j;break;case 1:s-=b[j];break;case 2:s*=1.0001;break;case 3:b[j]+=s;break;case 4:s+=a[j]*a[j];break;default:s-=1;}}return s;}`);
    }
    writeFileSync(join(files, `u${u}.c`), `#include <math.h>\n#include <stdio.h>\n${fns.join('\n')}\n`);
    objs.push(`u${u}.o`);
  }
  writeFileSync(join(files, 'main.c'), 'int main(void){return 0;}\n');
  writeFileSync(join(files, 'Makefile'), `OBJS = main.o ${objs.join(' ')}\nload: $(OBJS)\n\t$(CC) $(CFLAGS) -o $@ $(OBJS)\n%.o: %.c\n\t$(CC) $(CFLAGS) -c $< -o $@\n`);
  writeFileSync(
    join(repo, 'bench-misc/load/load-1.0.ebuild'),
    [
      'EAPI=8', 'DESCRIPTION="distcc benchmark load"', 'HOMEPAGE="https://example.invalid"', 'S="${WORKDIR}"', 'LICENSE="MIT"', 'SLOT="0"', 'KEYWORDS="amd64"',
      'src_unpack() { cp "${FILESDIR}"/* . || die; }',
      'src_compile() { local t0=${EPOCHREALTIME}; emake CC="${CC:-gcc}" CFLAGS="${CFLAGS}"; echo "BENCH src_compile ${t0} ${EPOCHREALTIME}"; }',
      'src_install() { dobin load; }', '',
    ].join('\n'),
  );
  return repo;
}

function makeRoot(repo, name) {
  const root = join(dir, name);
  mkdirSync(join(root, 'etc/portage'), { recursive: true });
  mkdirSync(join(root, 'var/lib/portage'), { recursive: true });
  writeFileSync(join(root, 'etc/portage/make.conf'), `CFLAGS="${CFLAGS}"\nFEATURES="-binpkg-signing"\n`);
  writeFileSync(join(root, 'etc/portage/repos.conf'), `[DEFAULT]\nmain-repo = gentoo\n\n[gentoo]\nlocation = ${repo}\n`);
  symlinkSync(join(repo, 'profiles/bench'), join(root, 'etc/portage/make.profile'));
  return root;
}

async function freePort() {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  await once(s, 'close');
  return port;
}

async function startDistccd(n) {
  const port = await freePort();
  const log = join(dir, `distccd-${n}.log`);
  const fd = openSync(log, 'w');
  const args = ['--daemon', '--no-detach', '--log-stderr', '--log-level', 'info', '--listen', '127.0.0.1', '--allow', '127.0.0.1', '--port', String(port), '--jobs', '2'];
  const child = spawn('distccd', args, { stdio: ['ignore', 'ignore', fd], detached: true });
  closeSync(fd);
  children.push(child);
  for (let i = 0; i < 100 && !readFileSync(log, 'utf8').includes('listening on'); i++) await new Promise((r) => setTimeout(r, 50));
  return { host: `127.0.0.1:${port}/2`, log };
}

function emerge(machine, root, env) {
  const t0 = process.hrtime.bigint();
  const res = spawnSync(machine.emerge, ['--oneshot', '--quiet-build=n', 'bench-misc/load'], {
    env: { ...process.env, ROOT: `${root}/`, PORTAGE_CONFIGROOT: `${root}/`, PORTAGE_TMPDIR: join(root, 'tmp'), PKGDIR: join(root, 'pkgs'), ...env },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (res.status !== 0) throw new Error(`emerge failed (${res.status}):\n${(res.stdout + res.stderr).slice(-3000)}`);
  const m = /BENCH src_compile ([\d.]+) ([\d.]+)/.exec(res.stdout);
  const compile = m ? Number(m[2]) - Number(m[1]) : NaN;
  return { wall, compile };
}

const repo = makeRepo();
const machine = makeMachine(join(dir, 'machine'), repo, 'bench');
const helpers = [await startDistccd(1), await startDistccd(2)];
const cpus = availableParallelism();
const rows = [];
// [helpers, MAKEOPTS -j override]: the host's default without distcc (-j = CPUs), then the same
// -j as with two helpers (so the -j effect and the distcc effect can be told apart), then 1 and 2
const CASES = [[0, cpus], [0, makeJobs({ hosts: helpers.map((h) => h.host), pump: false, jobs: 0, backoffSeconds: 60 }, cpus)], [1], [2]];
for (const [n, j] of CASES) {
  const root = makeRoot(repo, `root-${n}-${j ?? 'd'}`);
  mkdirSync(join(root, 'tmp'), { recursive: true });
  const settings = n === 0 ? undefined : { hosts: helpers.slice(0, n).map((h) => h.host), pump: false, jobs: 0, backoffSeconds: 60 };
  const paths = { dir: join(root, 'tmp/distcc'), log: join(root, 'tmp/distcc.log') };
  mkdirSync(paths.dir, { recursive: true });
  const env = { ...distccEnv(settings, paths, cpus), ...(j ? { MAKEOPTS: `-j${j}` } : {}) };
  const times = [];
  let stats;
  for (let r = 0; r < RUNS; r++) {
    rmSync(paths.log, { force: true });
    times.push(emerge(machine, root, env));
    if (settings) stats = summarizeDistccLog(readFileSync(paths.log, 'utf8'), { hosts: env.DISTCC_HOSTS, makeJobs: makeJobs(settings, cpus), pump: false });
  }
  const med = (k) => times.map((t) => t[k]).sort((a, b) => a - b)[Math.floor(times.length / 2)];
  rows.push({
    helpers: n,
    makeopts: env.MAKEOPTS,
    emerge: med('wall').toFixed(2),
    compile: med('compile').toFixed(2),
    jobs: stats ? [...stats.helpers.map((h) => `${h.jobs} on ${h.host}`), `${stats.localJobs} here`].join(', ') : `${UNITS + 1} here`,
  });
  console.error(JSON.stringify(rows.at(-1)));
}
console.log(`node bench/distcc.mjs --units ${UNITS} --runs ${RUNS}   (${cpus} CPUs, ${new Date().toISOString().slice(0, 10)})\n`);
console.log('| helpers | MAKEOPTS | emerge wall s (median) | src_compile s (median) | compile jobs |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.helpers} | ${r.makeopts} | ${r.emerge} | ${r.compile} | ${r.jobs} |`);

// Calibration for the estimate in RESULTS.md: what each translation unit costs to compile (the
// part a helper takes) and to preprocess (the part that stays here without pump mode), one at a
// time on this machine.
const files = join(repo, 'bench-misc/load/files');
const timed = (args) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('gcc', [...CFLAGS.split(' '), ...args], { cwd: files });
  if (r.status !== 0) throw new Error(`gcc ${args.join(' ')} failed`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
let compileSum = 0;
let cppSum = 0;
for (let u = 0; u < UNITS; u++) {
  compileSum += timed(['-c', `u${u}.c`, '-o', '/dev/null']);
  cppSum += timed(['-E', `u${u}.c`, '-o', '/dev/null']);
}
const fixed = rows.map((r) => Number(r.emerge) - Number(r.compile));
console.log(`\ncalibration: gcc -c of the ${UNITS} units one after another ${compileSum.toFixed(2)} s (${(compileSum / UNITS).toFixed(2)} s each); gcc -E ${cppSum.toFixed(2)} s; Portage outside src_compile ${Math.min(...fixed).toFixed(2)}–${Math.max(...fixed).toFixed(2)} s`);
process.exit(0); // the helpers are stopped by the exit handler
