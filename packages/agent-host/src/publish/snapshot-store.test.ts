import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serializePackagesIndex, silentLogger } from '@binhost/shared';
import { HostLayout } from '../layout.js';
import { SnapshotStore } from './snapshot-store.js';
import { nodeSnapshotFs } from './snapshot-fs.js';

describe('SnapshotStore', () => {
  let dir: string;
  let layout: HostLayout;
  let store: SnapshotStore;

  /** Writes binpkgs and a Packages index naming them into alpha's PKGDIR, as emerge would. */
  async function build(files: Record<string, string>): Promise<string> {
    const pkgDir = layout.pkgDir('alpha');
    const packages = [];
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(pkgDir, path, '..'), { recursive: true });
      // Portage writes a binpkg beside the old one and renames it over: a new inode.
      await writeFile(join(pkgDir, `${path}.new`), content);
      await rename(join(pkgDir, `${path}.new`), join(pkgDir, path));
      packages.push([['CPV', path.replace(/\.gpkg\.tar$/, '')], ['PATH', path], ['SIZE', String(content.length)]] as const);
    }
    const text = serializePackagesIndex({ header: [['PACKAGES', String(packages.length)], ['VERSION', '0']], packages });
    await writeFile(join(pkgDir, 'Packages'), text);
    return text;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapshots-'));
    layout = new HostLayout(dir);
    store = new SnapshotStore(layout, silentLogger());
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('snapshots the index and hard links of the files it names, unaffected by later builds', async () => {
    const index = await build({ 'app-misc/hello/hello-1.0-1.gpkg.tar': 'hello v1' });
    const snap = await store.create('alpha', 3, 'sha256:aa');
    expect(snap).toMatchObject({ id: 1, root: 'alpha', buildId: 3, builtDigest: 'sha256:aa', packageCount: 1, totalBytes: 8n });
    const sdir = store.dir('alpha', 1);
    expect(await readFile(join(sdir, 'Packages'), 'utf8')).toBe(index);
    const linked = await stat(join(sdir, 'app-misc/hello/hello-1.0-1.gpkg.tar'));
    expect(linked.ino).toBe((await stat(join(layout.pkgDir('alpha'), 'app-misc/hello/hello-1.0-1.gpkg.tar'))).ino);
    await build({ 'app-misc/hello/hello-1.0-1.gpkg.tar': 'hello v2 rebuilt' });
    expect(await readFile(join(sdir, 'app-misc/hello/hello-1.0-1.gpkg.tar'), 'utf8')).toBe('hello v1');
    expect(await readFile(join(sdir, 'Packages'), 'utf8')).toBe(index);
    expect((await store.read('alpha', 1)).builtDigest).toBe('sha256:aa');
  });

  it('publishes, rolls back, and remembers the pointer across restarts', async () => {
    await build({ 'a/b/b-1-1.gpkg.tar': 'one' });
    await store.create('alpha', 1, 'sha256:01');
    await build({ 'a/b/b-1-1.gpkg.tar': 'one', 'a/c/c-1-1.gpkg.tar': 'two' });
    await store.create('alpha', 2, 'sha256:02');
    await store.publish('t1', 'alpha', 2);
    expect(store.publishedId('t1')).toBe(2);
    await store.publish('t1', 'alpha', 1);
    const again = new SnapshotStore(layout, silentLogger());
    await again.load(['t1', 't2']);
    expect(again.publishedId('t1')).toBe(1);
    expect(again.publishedId('t2')).toBe(0);
    const pub = await again.published('t1');
    expect(pub).toMatchObject({ root: 'alpha', snapshot: { id: 1, packageCount: 1 }, dir: store.dir('alpha', 1) });
    await expect(store.publish('t1', 'alpha', 9)).rejects.toThrow('root "alpha" has no snapshot 9');
    expect((await store.list('alpha')).map((s) => s.id)).toEqual([1, 2]);
  });

  it('leaves the previous snapshot intact and no temp dir when the disk fills while publishing', async () => {
    await build({ 'a/b/b-1-1.gpkg.tar': 'one' });
    await store.create('alpha', 1, 'sha256:01');
    await store.publish('t1', 'alpha', 1);
    let links = 0;
    const full = new SnapshotStore(layout, silentLogger(), {
      ...nodeSnapshotFs,
      async link(a, b) {
        if (++links === 2) throw Object.assign(new Error('ENOSPC: no space left on device, link'), { code: 'ENOSPC' });
        return nodeSnapshotFs.link(a, b);
      },
    });
    await build({ 'a/b/b-1-1.gpkg.tar': 'one', 'a/c/c-1-1.gpkg.tar': 'two' });
    await expect(full.create('alpha', 2, 'sha256:02')).rejects.toMatchObject({
      message: 'disk full while publishing snapshot 2 of root "alpha"; earlier snapshots are intact',
      code: 8, // RESOURCE_EXHAUSTED
    });
    expect(await readdir(layout.snapshotsDir('alpha'))).toEqual(['1']);
    expect((await store.published('t1'))?.snapshot.id).toBe(1);
    expect(await readFile(join(store.dir('alpha', 1), 'a/b/b-1-1.gpkg.tar'), 'utf8')).toBe('one');
  });

  it('refuses an index naming a missing file, leaving nothing behind', async () => {
    await build({ 'a/b/b-1-1.gpkg.tar': 'one' });
    await rm(join(layout.pkgDir('alpha'), 'a/b/b-1-1.gpkg.tar'));
    await expect(store.create('alpha', 1, 'sha256:01')).rejects.toThrow(/Packages names a\/b\/b-1-1\.gpkg\.tar, which does not exist/);
    expect(await readdir(layout.snapshotsDir('alpha'))).toEqual([]);
  });

  it('refuses an index PATH that escapes PKGDIR', async () => {
    const pkgDir = layout.pkgDir('alpha');
    await mkdir(pkgDir, { recursive: true });
    await writeFile(join(pkgDir, 'Packages'), 'VERSION: 0\n\nCPV: a/b-1\nPATH: ../../etc/shadow\n\n');
    await expect(store.create('alpha', 1, 'sha256:01')).rejects.toThrow(/unsafe Packages PATH/);
  });

  it('prunes all but the newest N, keeping snapshots a target still uses', async () => {
    for (let i = 1; i <= 5; i++) {
      await build({ 'a/b/b-1-1.gpkg.tar': `v${i}` });
      await store.create('alpha', i, `sha256:0${i}`);
    }
    expect(await store.prune('alpha', 2, [1])).toEqual([2, 3]);
    expect((await store.list('alpha')).map((s) => s.id)).toEqual([1, 4, 5]);
    await build({ 'a/b/b-1-1.gpkg.tar': 'v6' });
    expect((await store.create('alpha', 6, 'sha256:06')).id).toBe(6);
  });
});
