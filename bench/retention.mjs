// Disk of one root after N rebuilds with real Portage, before and after retention (issue: "a
// binhost that runs for years"). Run `npm run build` first, then:
//   node bench/retention.mjs [--rebuilds 20] [--keep-snapshots 3]
// Each rebuild is `emerge --buildpkg --oneshot app-misc/hello` in the root (a new BUILD_ID), then a
// snapshot (the product's SnapshotStore) pruned to --keep-snapshots as the host does. "before" is
// the root as the host left it until now (every instance kept in PKGDIR); "after" is one retention
// pass (the product's GarbageCollector; index rewritten by Portage's own `emaint binhost --fix`).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '@binhost/shared';
// bench only: the product's modules from their build output
import { HostLayout } from '../packages/agent-host/dist/layout.js';
import { SnapshotStore } from '../packages/agent-host/dist/publish/snapshot-store.js';
import { BuildStore } from '../packages/agent-host/dist/build/build-store.js';
import { GarbageCollector } from '../packages/agent-host/dist/gc/garbage-collector.js';

const { values } = parseArgs({ options: { rebuilds: { type: 'string', default: '20' }, 'keep-snapshots': { type: 'string', default: '3' } } });
const rebuilds = Number(values.rebuilds);
const keep = Number(values['keep-snapshots']);
const here = resolve(import.meta.dirname, '..');
const repo = join(here, 'test/fixtures/repo');
const dir = mkdtempSync(join(tmpdir(), 'bench-retention-'));
const log = silentLogger();
try {
  const machine = JSON.parse(execFileSync(process.execPath, [join(here, 'scripts/portage.mjs'), 'machine', join(dir, 'machine'), repo], { encoding: 'utf8' }));
  const layout = new HostLayout(join(dir, 'state'));
  const root = layout.rootDir('alpha');
  mkdirSync(join(root, 'etc/portage'), { recursive: true });
  mkdirSync(join(root, 'var/lib/portage'), { recursive: true });
  writeFileSync(join(root, 'etc/portage/make.conf'), 'CFLAGS="-O2 -pipe"\nBINPKG_FORMAT="gpkg"\n');
  writeFileSync(join(root, 'etc/portage/repos.conf'), `[DEFAULT]\nmain-repo = gentoo\n[gentoo]\nlocation = ${repo}\n`);
  symlinkSync(join(repo, 'profiles/default/linux/amd64/harness'), join(root, 'etc/portage/make.profile'));
  const env = { ...process.env, ROOT: `${root}/`, PORTAGE_CONFIGROOT: `${root}/`, PKGDIR: `${layout.pkgDir('alpha')}/`, PORTAGE_TMPDIR: join(dir, 'tmp') };
  mkdirSync(env.PORTAGE_TMPDIR, { recursive: true });
  const snapshots = new SnapshotStore(layout, log);
  const builds = new BuildStore(layout, log);
  const gc = new GarbageCollector({
    layout, snapshots, builds, keepSnapshots: keep, keepBuilds: 50, log,
    inUse: () => [], targetsOf: () => ['alpha'], busy: () => undefined,
    async fixIndex() {
      const r = spawnSync(join(machine.bin, 'emaint'), ['binhost', '--fix'], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`emaint failed: ${r.stderr}`);
    },
  });
  const started = Date.now();
  for (let i = 1; i <= rebuilds; i++) {
    const r = spawnSync(machine.emerge, ['--buildpkg', '--oneshot', 'app-misc/hello'], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rebuild ${i} failed:\n${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
    // a config change each time (digest), so each snapshot publishes the newest instance
    await snapshots.create('alpha', i, `sha256:${i.toString(16).padStart(4, '0')}`);
    await snapshots.prune('alpha', keep, []);
  }
  const buildSeconds = (Date.now() - started) / 1000;
  const entries = () => (readFileSync(join(layout.pkgDir('alpha'), 'Packages'), 'utf8').match(/^CPV: /gm) ?? []).length;
  const before = await gc.usage('alpha');
  const beforeEntries = entries();
  const t0 = Date.now();
  const done = await gc.collect('alpha', { dryRun: false });
  const gcMs = Date.now() - t0;
  const after = await gc.usage('alpha');
  const row = (name, u, n) => `| ${name} | ${u.instances} | ${n} | ${Number(u.pkgdirBytes)} | ${Number(u.snapshotsBytes)} | ${Number(u.pkgdirBytes) + Number(u.snapshotsBytes)} |`;
  console.log(`${rebuilds} rebuilds of app-misc/hello with real Portage (${buildSeconds.toFixed(0)} s), keep_snapshots = ${keep}`);
  console.log('| root | instances in PKGDIR | Packages entries | PKGDIR bytes | snapshot-only bytes | total bytes |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(row('before retention', before, beforeEntries));
  console.log(row('after retention', after, entries()));
  console.log(`retention pass: ${gcMs} ms (emaint binhost --fix included), freed ${Number(done.freedBytes)} bytes, removed ${done.removedInstances.length} instances`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
