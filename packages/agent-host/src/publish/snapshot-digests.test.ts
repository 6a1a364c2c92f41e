import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePackagesIndex } from '@binhost/shared';
import { computeSnapshotDigests, readSnapshotDigests, SNAPSHOT_DIGESTS_FILE, writeSnapshotDigests } from './snapshot-digests.js';

const hex = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

describe('snapshot digests', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapshot-digests-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** Writes files and an index naming them; `indexData` overrides what the index says a file holds. */
  async function layout(files: { path: string; data: Buffer; indexData?: Buffer; keys?: string[] }[]): Promise<void> {
    const blocks = [];
    for (const f of files) {
      await mkdir(join(dir, f.path, '..'), { recursive: true });
      await writeFile(join(dir, f.path), f.data);
      const d = f.indexData ?? f.data;
      const all: Record<string, string> = { CPV: f.path, MD5: hex('md5', d), PATH: f.path, SHA1: hex('sha1', d), SIZE: String(d.length) };
      const keys = f.keys ?? Object.keys(all);
      blocks.push(keys.map((k) => `${k}: ${all[k]}\n`).join('') + '\n');
    }
    await writeFile(join(dir, 'Packages'), `ARCH: amd64\nVERSION: 0\n\n${blocks.join('')}`);
  }

  it('records the SHA-256 of each file that matches its index, and only those', async () => {
    const good = { path: 'a/b/good-1.gpkg.tar', data: randomBytes(3000) };
    const md5Only = { path: 'a/c/md5-1.tbz2', data: randomBytes(10), keys: ['CPV', 'MD5', 'PATH', 'SIZE'] };
    const bad = { path: 'a/d/bad-1.gpkg.tar', data: randomBytes(100), indexData: randomBytes(100) };
    const missing = { path: 'a/e/gone-1.gpkg.tar', data: randomBytes(5) };
    await layout([good, md5Only, bad, missing]);
    await rm(join(dir, missing.path));
    await writeSnapshotDigests(dir);
    const digests = await readSnapshotDigests(dir);
    expect([...digests.keys()].sort()).toEqual([good.path, md5Only.path]);
    expect(digests.get(good.path)).toEqual({ size: 3000, sha256: createHash('sha256').update(good.data).digest() });
  });

  it('has no digests for a snapshot made before them, or with a damaged file', async () => {
    expect((await readSnapshotDigests(dir)).size).toBe(0);
    await writeFile(join(dir, SNAPSHOT_DIGESTS_FILE), '{"sha256": {"a": [1, "zz"], "b": "x"');
    expect((await readSnapshotDigests(dir)).size).toBe(0);
    await writeFile(join(dir, SNAPSHOT_DIGESTS_FILE), JSON.stringify({ sha256: { a: [1, 'zz'], b: [-1, 'a'.repeat(64)], c: [2, 'b'.repeat(64)] } }));
    expect([...(await readSnapshotDigests(dir)).keys()]).toEqual(['c']);
  });

  it('refuses an index naming an unsafe path', async () => {
    const index = parsePackagesIndex(`ARCH: amd64\n\nCPV: x/y-1\nPATH: ../../etc/shadow\nSHA1: ${'a'.repeat(40)}\nSIZE: 1\n\n`);
    await expect(computeSnapshotDigests(dir, index)).rejects.toThrow(/shadow/);
  });
});
