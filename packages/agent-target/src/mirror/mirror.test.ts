import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@binhost/shared';
import { Mirror } from './mirror.js';
import { MirrorStore } from './mirror-store.js';
import { IndexRefusedError } from './index-entries.js';
import { MirrorDiskFullError, VerificationError } from './file-fetch.js';
import { openAppendWriter, type OpenWriter } from './file-writer.js';
import { fakeSource, indexFor, sha256Of, unavailable, type FakeFile } from './mirror.test-helpers.js';

const file = (path: string, size: number): FakeFile => ({ path, data: randomBytes(size) });

describe('Mirror', () => {
  let dir: string;
  let store: MirrorStore;
  const signal = new AbortController().signal;
  const mirrorOf = (source: ReturnType<typeof fakeSource>['source'], extra: Partial<ConstructorParameters<typeof Mirror>[0]> = {}) =>
    new Mirror({ store, source, log: silentLogger(), backoff: { initialMs: 1, maxMs: 2 }, ...extra });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mirror-test-'));
    store = new MirrorStore(join(dir, 'mirror'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('fetches every file, verifies it, and serves the index only afterwards', async () => {
    const files = [file('app-misc/a/a-1-1.gpkg.tar', 5000), file('app-misc/b/b-1-1.gpkg.tar', 10)];
    const { source } = fakeSource(new Map([[1, { files }]]));
    expect(await store.served()).toBeUndefined();
    const res = await mirrorOf(source).sync(1, signal);
    expect(res.filesFetched).toBe(2);
    expect(res.bytesFetched).toBe(5010);
    const served = await store.served();
    expect(served?.snapshot.id).toBe(1);
    for (const f of files) expect(await readFile(store.objectPath(served!.byPath.get(f.path)!.key))).toEqual(f.data);
    expect(await readdir(join(dir, 'mirror', 'partial'))).toEqual([]);
  });

  it('fetches only files it does not hold, and resyncs with nothing new in zero bytes', async () => {
    const shared = file('app-misc/a/a-1-1.gpkg.tar', 3000);
    const files2 = [shared, file('app-misc/c/c-1-1.gpkg.tar', 2000)];
    const { source, requests } = fakeSource(new Map([[1, { files: [shared] }], [2, { files: files2 }]]));
    const m = mirrorOf(source);
    await m.sync(1, signal);
    requests.length = 0;
    const second = await m.sync(2, signal);
    expect(second.filesFetched).toBe(1);
    expect(requests.map((r) => r.path)).toEqual(['app-misc/c/c-1-1.gpkg.tar']);
    const again = await m.sync(2, signal);
    expect(again.bytesFetched).toBe(0);
  });

  it('refetches a file whose chunk arrived corrupted, and keeps only the verified copy', async () => {
    const files = [file('app-misc/a/a-1-1.gpkg.tar', 4096)];
    let corrupted = 0;
    const { source, requests } = fakeSource(new Map([[1, { files }]]), {
      mangle: (_p, offset, data) => {
        if (offset !== 1024 || corrupted++ > 0) return data;
        data[7] = data[7]! ^ 0xff;
        return data;
      },
    });
    await mirrorOf(source).sync(1, signal);
    expect(corrupted).toBe(2);
    expect(requests.map((r) => r.offset)).toEqual([0, 0]); // the bad download was discarded whole
    const served = await store.served();
    expect(await readFile(store.objectPath(served!.entries[0]!.key))).toEqual(files[0]!.data);
  });

  it("verifies with the host's SHA-256 when it sent one, and refetches a chunk that arrived corrupted", async () => {
    const files = [file('app-misc/a/a-1-1.gpkg.tar', 4096), file('app-misc/b/b-1-1.gpkg.tar', 10)];
    let corrupted = 0;
    const { source, requests } = fakeSource(new Map([[1, { files, fileDigests: sha256Of(files) }]]), {
      mangle: (path, offset, data) => {
        if (path !== files[0]!.path || offset !== 1024 || corrupted++ > 0) return data;
        data[7] = data[7]! ^ 0xff;
        return data;
      },
    });
    const warnings: string[] = [];
    const log = silentLogger();
    log.warn = ((o: { err?: string }) => void warnings.push(o.err ?? '')) as typeof log.warn;
    await mirrorOf(source, { log }).sync(1, signal);
    expect(warnings.join('\n')).toMatch(/failed verification \(SHA256 [0-9a-f]{64} != [0-9a-f]{64}\)/);
    expect(requests.filter((r) => r.path === files[0]!.path).map((r) => r.offset)).toEqual([0, 0]);
    const served = await store.served();
    for (const f of files) expect(await readFile(store.objectPath(served!.byPath.get(f.path)!.key))).toEqual(f.data);
    expect(served!.byPath.get(files[0]!.path)!.key).toMatch(/^sha1-/); // named as before: resyncs find what is held
  });

  it("refuses a file that does not match the host's SHA-256, even when it matches the index", async () => {
    const files = [file('app-misc/a/a-1-1.gpkg.tar', 100)];
    const wrong = sha256Of([{ ...files[0]!, data: randomBytes(100) }]);
    const { source } = fakeSource(new Map([[1, { files, fileDigests: wrong }]]));
    await expect(mirrorOf(source).sync(1, signal)).rejects.toThrow(/failed verification \(SHA256 /);
    expect(await store.served()).toBeUndefined();
  });

  it("falls back to the index's digests for a file whose SHA-256 names another size", async () => {
    const files = [file('app-misc/a/a-1-1.gpkg.tar', 100)];
    const odd = sha256Of(files).map((d) => ({ ...d, size: 99n, sha256: Buffer.alloc(32) }));
    const { source } = fakeSource(new Map([[1, { files, fileDigests: odd }]]));
    await mirrorOf(source).sync(1, signal);
    expect((await store.served())?.snapshot.id).toBe(1);
  });

  it('refuses a file that never matches its index (tampered on the host) and serves nothing new', async () => {
    const good = [file('app-misc/a/a-1-1.gpkg.tar', 100)];
    const tampered = file('app-misc/a/a-1-2.gpkg.tar', 100);
    const index = indexFor([{ ...tampered, data: randomBytes(100) }]); // index digests of other bytes
    const { source } = fakeSource(new Map([[1, { files: good }], [2, { files: [tampered], index }]]));
    const m = mirrorOf(source);
    await m.sync(1, signal);
    await expect(m.sync(2, signal)).rejects.toBeInstanceOf(VerificationError);
    expect((await new MirrorStore(store.dir).served())?.snapshot.id).toBe(1);
    expect(await readdir(join(store.dir, 'objects'))).toHaveLength(1);
  });

  it('resumes from the offset after the host dropped the connection mid-transfer', async () => {
    const files = [file('app-misc/a/a-1-1.gpkg.tar', 10_000)];
    let dropped = false;
    const { source, requests } = fakeSource(new Map([[1, { files }]]), {
      failAt: (_p, offset) => (offset === 6144 && !dropped ? ((dropped = true), unavailable()) : undefined),
    });
    await mirrorOf(source).sync(1, signal);
    expect(requests.map((r) => r.offset)).toEqual([0, 6144]);
    const served = await store.served();
    expect(await readFile(store.objectPath(served!.entries[0]!.key))).toEqual(files[0]!.data);
  });

  it('never counts a partial download left by a killed agent, and resumes it after restart', async () => {
    const files = [file('app-misc/a/a-1-1.gpkg.tar', 8000)];
    const killed = new AbortController();
    const first = fakeSource(new Map([[1, { files }]]), {
      failAt: (_p, offset) => (offset === 3072 ? (killed.abort(), new Error('agent killed')) : undefined),
    });
    await expect(mirrorOf(first.source).sync(1, killed.signal)).rejects.toThrow('agent killed');
    expect(await store.served()).toBeUndefined();
    expect(await readdir(join(store.dir, 'objects'))).toEqual([]);
    const part = (await readdir(join(store.dir, 'partial')))[0]!;
    expect((await stat(join(store.dir, 'partial', part))).size).toBe(3072);
    // a new agent process: new store object, same directory
    store = new MirrorStore(store.dir);
    const second = fakeSource(new Map([[1, { files }]]));
    await mirrorOf(second.source).sync(1, signal);
    expect(second.requests).toEqual([{ path: files[0]!.path, offset: 3072 }]);
    expect(await readFile(store.objectPath((await store.served())!.entries[0]!.key))).toEqual(files[0]!.data);
  });

  it('fails clearly when the disk is full and leaves the previous mirror intact', async () => {
    const old = [file('app-misc/a/a-1-1.gpkg.tar', 500)];
    const next = [file('app-misc/a/a-1-2.gpkg.tar', 5000)];
    const { source } = fakeSource(new Map([[1, { files: old }], [2, { files: next }]]));
    await mirrorOf(source).sync(1, signal);
    const before = await readFile(join(store.dir, 'current.json'), 'utf8');
    let written = 0;
    const full: OpenWriter = async (path) => {
      const w = await openAppendWriter(path);
      return {
        sync: () => w.sync(),
        close: () => w.close(),
        async write(data) {
          if ((written += data.length) > 2048) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          await w.write(data);
        },
      };
    };
    const err = await mirrorOf(source, { openWriter: full }).sync(2, signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MirrorDiskFullError);
    expect((err as Error).message).toMatch(/no space left.*app-misc\/a\/a-1-2\.gpkg\.tar.*previous mirror is intact/);
    expect(await readFile(join(store.dir, 'current.json'), 'utf8')).toBe(before);
    const served = await new MirrorStore(store.dir).served();
    expect(await readFile(store.objectPath(served!.entries[0]!.key))).toEqual(old[0]!.data);
    expect(await readdir(join(store.dir, 'partial'))).toEqual([]);
  });

  it('refuses an index naming ../../etc/shadow and writes nothing', async () => {
    const evil = { path: '../../etc/shadow', data: Buffer.from('root:x:0:0') };
    const { source, requests } = fakeSource(new Map([[1, { files: [evil] }]]));
    const err = await mirrorOf(source).sync(1, signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IndexRefusedError);
    expect((err as Error).message).toContain('../../etc/shadow');
    expect(requests).toEqual([]);
    expect(await store.served()).toBeUndefined();
  });

  it('keeps the installed and the served snapshot and removes what neither needs', async () => {
    const a = file('app-misc/a/a-1-1.gpkg.tar', 100);
    const b = file('app-misc/b/b-1-1.gpkg.tar', 100);
    const c = file('app-misc/c/c-1-1.gpkg.tar', 100);
    const { source } = fakeSource(new Map([[1, { files: [a] }], [2, { files: [a, b] }], [3, { files: [c] }]]));
    const m = mirrorOf(source);
    await m.sync(1, signal);
    await store.markInstalled(1);
    await m.sync(2, signal);
    await m.sync(3, signal);
    await writeFile(join(store.dir, 'partial', 'stale.part'), 'x');
    await store.collectGarbage();
    // kept: 1 (installed) and 3 (served); 2 and b go
    expect((await readdir(join(store.dir, 'snapshots'))).sort()).toEqual(['1', '3']);
    expect(await readdir(join(store.dir, 'objects'))).toHaveLength(2);
    expect(await readdir(join(store.dir, 'partial'))).toEqual([]);
  });
});
