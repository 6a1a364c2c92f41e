import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Build, BuildKind, BuildStatus, indexValue, parsePackagesIndex, serializePackagesIndex, silentLogger, type IndexEntry } from '@binhost/shared';
import { HostLayout } from '../layout.js';
import { SnapshotStore } from '../publish/snapshot-store.js';
import { BuildStore } from '../build/build-store.js';
import { GarbageCollector } from './garbage-collector.js';
import { planRetention } from './retention-plan.js';

const entry = (cpv: string, id: number, use = ''): IndexEntry => [
  ['BUILD_ID', String(id)],
  ['CPV', cpv],
  ['PATH', `${cpv.replace(/-(\d)/, (_m, d: string) => `/${cpv.split('/')[1]!.replace(/-\d.*$/, '')}-${d}`)}-${id}.gpkg.tar`],
  ['USE', use],
];

describe('planRetention', () => {
  const file = (rel: string) => ({ path: `/p/${rel}`, rel, size: 10, inode: rel });
  it('keeps the newest instance per package and USE, and whatever a kept snapshot names', () => {
    const packages = [entry('app-misc/hello-1.0', 1), entry('app-misc/hello-1.0', 2), entry('app-misc/hello-1.0', 3), entry('app-misc/greet-1.0', 1, 'loud'), entry('app-misc/greet-1.0', 2)];
    const paths = packages.map((p) => indexValue(p, 'PATH')!);
    expect(paths[0]).toBe('app-misc/hello/hello-1.0-1.gpkg.tar');
    const files = [...paths, 'app-misc/hello/hello-1.0-4.gpkg.tar'].map(file);
    const plan = planRetention({ header: [], packages }, files, new Set([paths[0]!]));
    // 1: a snapshot names it; 3: newest; greet 1 and 2 differ in USE; 4 is not indexed (a failed build's reservation)
    expect(plan.remove.map((f) => f.rel)).toEqual(['app-misc/hello/hello-1.0-2.gpkg.tar', 'app-misc/hello/hello-1.0-4.gpkg.tar']);
  });
});

describe('GarbageCollector', () => {
  let dir: string;
  let layout: HostLayout;
  let snapshots: SnapshotStore;
  let builds: BuildStore;
  let inUse: number[];
  let fixes: number;

  /** One more rebuild of `cpvs` into alpha's PKGDIR, indexed as Portage indexes (every instance listed). */
  async function rebuild(cpvs: string[]): Promise<void> {
    const pkgDir = layout.pkgDir('alpha');
    const old = await readFile(join(pkgDir, 'Packages'), 'utf8').then((t) => parsePackagesIndex(t).packages, () => [] as IndexEntry[]);
    const packages = [...old];
    for (const cpv of cpvs) {
      const id = old.filter((e) => indexValue(e, 'CPV') === cpv).length + 1;
      const e = entry(cpv, id);
      await mkdir(join(pkgDir, indexValue(e, 'PATH')!, '..'), { recursive: true });
      await writeFile(join(pkgDir, indexValue(e, 'PATH')!), Buffer.alloc(1000, id));
      packages.push([...e, ['SIZE', '1000']]);
    }
    await writeFile(join(pkgDir, 'Packages'), serializePackagesIndex({ header: [['PACKAGES', String(packages.length)]], packages }));
  }

  function collector(keepBuilds = 2): GarbageCollector {
    return new GarbageCollector({
      layout,
      snapshots,
      builds,
      keepSnapshots: 2,
      keepBuilds,
      inUse: () => inUse,
      targetsOf: () => ['alpha'],
      busy: () => undefined,
      // what emaint binhost --fix does: the index lists exactly the files there are
      async fixIndex(root) {
        fixes++;
        const file = join(layout.pkgDir(root), 'Packages');
        const index = parsePackagesIndex(await readFile(file, 'utf8'));
        const present = new Set(await listRel(layout.pkgDir(root)));
        const packages = index.packages.filter((p) => present.has(indexValue(p, 'PATH')!));
        await writeFile(file, serializePackagesIndex({ header: [['PACKAGES', String(packages.length)]], packages }));
      },
      log: silentLogger(),
    });
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gc-'));
    layout = new HostLayout(dir);
    snapshots = new SnapshotStore(layout, silentLogger());
    builds = new BuildStore(layout, silentLogger());
    inUse = [];
    fixes = 0;
    await mkdir(layout.rootDir('alpha'), { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('after many rebuilds keeps what kept snapshots name and the newest instance; df and gc agree', async () => {
    for (let i = 1; i <= 6; i++) {
      await rebuild(['app-misc/hello-1.0', 'app-misc/greet-1.0']);
      await snapshots.create('alpha', i, `sha256:a${i}`); // a config change each time: the newest instances are published
      const b = await builds.create({ ...Build.fromPartial({}), root: 'alpha', target: 'alpha', kind: BuildKind.BUILD_KIND_AUTO, status: BuildStatus.BUILD_STATUS_SUCCEEDED });
      await writeFile(builds.logFile('alpha', b.id), 'x'.repeat(100));
    }
    inUse = [2]; // alpha still has snapshot 2 installed
    const gc = collector();
    const before = await gc.usage('alpha');
    expect(before).toMatchObject({ instances: 12, snapshots: 6, removableSnapshots: 3, builds: 6, removableBuilds: 4 });
    // instances 1, 3, 4 of each package go (2 is installed, 5 and 6 in the kept snapshots)
    expect(before.removableInstances).toBe(6);
    const dry = await gc.collect('alpha', { dryRun: true });
    expect(dry.freedBytes).toBe(before.reclaimableBytes);
    expect(await listRel(layout.pkgDir('alpha'))).toHaveLength(12 + 1);
    expect(fixes).toBe(0);

    const done = await gc.collect('alpha', { dryRun: false });
    expect(done.removedSnapshots).toEqual([1, 3, 4]);
    expect(done.removedInstances).toHaveLength(6);
    expect(done.removedBuilds).toEqual([4, 3, 2, 1]);
    // the instances' bytes (6 × 1000), plus the 4 build logs and records
    expect(Number(done.freedBytes)).toBeGreaterThan(6000 + 400);
    expect(fixes).toBe(1);
    const index = parsePackagesIndex(await readFile(join(layout.pkgDir('alpha'), 'Packages'), 'utf8'));
    expect(index.packages.map((p) => indexValue(p, 'BUILD_ID'))).toEqual(['2', '2', '5', '5', '6', '6']);
    expect((await readdir(layout.buildsDir('alpha'))).sort()).toEqual(['5.json', '5.log', '6.json', '6.log']);
    const after = await gc.usage('alpha');
    expect(after).toMatchObject({ removableInstances: 0, removableSnapshots: 0, removableBuilds: 0, reclaimableBytes: 0n });
    expect(Number(after.pkgdirBytes)).toBeLessThan(Number(before.pkgdirBytes));
    // a second run has nothing to do, and does not call emaint
    expect((await gc.collect('alpha', { dryRun: false })).removedInstances).toEqual([]);
    expect(fixes).toBe(1);
  });

  it('a snapshot lists one instance per package: an unchanged rebuild keeps the one targets have, unless asked', async () => {
    const published = async (id: number) => {
      const index = parsePackagesIndex(await readFile(join(snapshots.dir('alpha', id), 'Packages'), 'utf8'));
      return { count: indexValue(index.header, 'PACKAGES'), ids: index.packages.map((p) => `${indexValue(p, 'CPV')}-${indexValue(p, 'BUILD_ID')}`).sort() };
    };
    await rebuild(['app-misc/hello-1.0', 'app-misc/greet-1.0']);
    await snapshots.create('alpha', 1, 'sha256:aa');
    await rebuild(['app-misc/hello-1.0']);
    await rebuild(['app-misc/hello-1.0']);
    await snapshots.create('alpha', 2, 'sha256:aa');
    // same config, same USE and deps: hello stays instance 1, byte for byte
    expect(await published(2)).toEqual({ count: '2', ids: ['app-misc/greet-1.0-1', 'app-misc/hello-1.0-1'] });
    await snapshots.create('alpha', 3, 'sha256:aa', { reinstallRebuilt: true });
    expect(await published(3)).toEqual({ count: '2', ids: ['app-misc/greet-1.0-1', 'app-misc/hello-1.0-3'] });
    // the root has instance 2 installed (its vdb's BUILD_TIME): that is the one that matches its config
    const pkgDir = layout.pkgDir('alpha');
    const index = parsePackagesIndex(await readFile(join(pkgDir, 'Packages'), 'utf8'));
    const withTime = index.packages.map((p) => [...p, ['BUILD_TIME', String(1000 + Number(indexValue(p, 'BUILD_ID')))]] as IndexEntry);
    await writeFile(join(pkgDir, 'Packages'), serializePackagesIndex({ header: index.header, packages: withTime }));
    await mkdir(join(layout.rootDir('alpha'), 'var/db/pkg/app-misc/hello-1.0'), { recursive: true });
    await writeFile(join(layout.rootDir('alpha'), 'var/db/pkg/app-misc/hello-1.0/BUILD_TIME'), '1002\n');
    await snapshots.create('alpha', 4, 'sha256:bb');
    expect((await published(4)).ids).toEqual(['app-misc/greet-1.0-1', 'app-misc/hello-1.0-2']);
  });

  it('leaves a root with a running build alone', async () => {
    await rebuild(['app-misc/hello-1.0']);
    await rebuild(['app-misc/hello-1.0']);
    const gc = new GarbageCollector({ ...(collector() as unknown as { options: object }).options, busy: () => 'build 7 is running in it' } as never);
    const r = await gc.collect('alpha', { dryRun: false });
    expect(r.skipped).toBe('build 7 is running in it');
    expect(await listRel(layout.pkgDir('alpha'))).toHaveLength(3);
  });
});

async function listRel(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}
