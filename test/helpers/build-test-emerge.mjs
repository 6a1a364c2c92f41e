#!/usr/bin/env node
// TEMPORARY test-local emerge for test/builds.test.ts, until the stand-in (test/fixtures/bin/emerge,
// branch h-emerge) is in main. Usage: node build-test-emerge.mjs CONTROL.json EMERGE_ARGS...
// CONTROL.json: { packages: ["app-misc/hello-1.0"], fail?: cpv, delayMs?, lock?, ignoreTerm?,
// grandchildPidFile?, record? } — it records argv and env to `record` (JSON lines), prints
// emerge's progress lines, and writes binpkgs + Packages into $PKGDIR after each package.
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const [control, ...args] = process.argv.slice(2);
const c = JSON.parse(readFileSync(control, 'utf8'));
const env = process.env;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
if (c.record) {
  const pick = Object.fromEntries(Object.entries(env).filter(([k]) => /^(ROOT|PORTAGE_CONFIGROOT|PKGDIR|FEATURES|BINPKG_.*|CFLAGS)$/.test(k)));
  appendFileSync(c.record, JSON.stringify({ args, env: pick, pid: process.pid }) + '\n');
}
if (c.ignoreTerm) process.on('SIGTERM', () => console.log('stand-in: ignoring SIGTERM'));
if (c.grandchildPidFile) {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  writeFileSync(c.grandchildPidFile, String(child.pid));
}
console.log('Calculating dependencies ... done!');
if (c.lock) {
  console.log(` * waiting for lock on ${env.ROOT}var/db/.pkg.portage_lockfile ...`);
  setInterval(() => {}, 1000);
} else {
  const pkgs = c.packages ?? ['app-misc/hello-1.0'];
  const entries = [];
  for (const [i, cpv] of pkgs.entries()) {
    console.log(`>>> Emerging (${i + 1} of ${pkgs.length}) ${cpv}::gentoo for ${env.ROOT}`);
    for (const phase of ['Unpacking source...', 'Compiling source in /w ...']) {
      console.log(`>>> ${phase}`);
      for (let l = 0; l < (c.linesPerPhase ?? 1); l++) console.log(`${cpv} output line ${l + 1}`);
      await sleep(c.delayMs ?? 0);
    }
    if (c.fail === cpv) {
      console.log(` \x1b[31;01m*\x1b[0m ERROR: ${cpv}::gentoo failed (compile phase):`);
      console.log(`>>> Failed to emerge ${cpv} for ${env.ROOT}, Log file:`);
      process.exit(1);
    }
    console.log('>>> Creating binpkg');
    const [cat, pf] = cpv.split('/');
    const pn = pf.replace(/-\d.*$/, '');
    const path = `${cat}/${pn}/${pf}-1.gpkg.tar`;
    const body = `gpkg ${cpv} FEATURES=${env.FEATURES ?? ''} KEY=${env.BINPKG_GPG_SIGNING_KEY ?? ''} ${Date.now()}`;
    mkdirSync(join(env.PKGDIR, cat, pn), { recursive: true });
    writeFileSync(join(env.PKGDIR, `${path}.tmp`), body);
    renameSync(join(env.PKGDIR, `${path}.tmp`), join(env.PKGDIR, path));
    entries.push(`BUILD_ID: 1\nCPV: ${cpv}\nPATH: ${path}\nSIZE: ${Buffer.byteLength(body)}\n`);
    writeFileSync(join(env.PKGDIR, 'Packages'), `PACKAGES: ${entries.length}\nVERSION: 0\n\n` + entries.map((e) => e + '\n').join(''));
    console.log(`>>> Completed (${i + 1} of ${pkgs.length}) ${cpv}::gentoo to ${env.ROOT}`);
  }
}
