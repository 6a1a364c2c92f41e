import { createHash } from 'node:crypto';
import { Snapshot, type FetchFileResponse, type FileDigest } from '@binhost/shared';
import type { SnapshotSource } from './snapshot-source.js';

/** A file of a fake snapshot. */
export interface FakeFile {
  path: string;
  data: Buffer;
}

/** A `Packages` index naming `files` with their real SIZE/MD5/SHA1 (or `override`s). */
export function indexFor(files: readonly FakeFile[], override: Record<string, Record<string, string>> = {}): Buffer {
  const blocks = files.map((f) => {
    const keys: Record<string, string> = {
      CPV: f.path.replace(/\.gpkg\.tar$/, '').replace(/^([^/]+)\/[^/]+\//, '$1/'),
      MD5: createHash('md5').update(f.data).digest('hex'),
      PATH: f.path,
      SHA1: createHash('sha1').update(f.data).digest('hex'),
      SIZE: String(f.data.length),
      ...override[f.path],
    };
    return Object.entries(keys)
      .map(([k, v]) => `${k}: ${v}\n`)
      .join('');
  });
  return Buffer.from(`ARCH: amd64\nVERSION: 0\n\n${blocks.map((b) => b + '\n').join('')}`);
}

/** Hooks to break a {@link fakeSource} on purpose. */
export interface FakeSourceHooks {
  /** Change a chunk before it is sent (corruption). */
  mangle?: (path: string, offset: number, data: Buffer) => Buffer;
  /** Throw instead of sending the chunk at this offset (a dropped connection). */
  failAt?: (path: string, offset: number) => Error | undefined;
}

/** The host's SHA-256 of `files` (GetPublication `file_digests`). */
export function sha256Of(files: readonly FakeFile[]): FileDigest[] {
  return files.map((f) => ({ path: f.path, size: BigInt(f.data.length), sha256: createHash('sha256').update(f.data).digest() }));
}

/** A snapshot of a {@link fakeSource}: its files, optionally another index and the host's digests. */
export interface FakeSnapshot {
  files: FakeFile[];
  index?: Buffer;
  builtDigest?: string;
  fileDigests?: FileDigest[];
}

/** An in-memory {@link SnapshotSource}: snapshots by id, chunked like the host, with fault hooks. */
export function fakeSource(snapshots: Map<number, FakeSnapshot>, hooks: FakeSourceHooks = {}, chunk = 1024) {
  const requests: { path: string; offset: number }[] = [];
  const source: SnapshotSource = {
    async publication(id) {
      const s = snapshots.get(id);
      if (!s) throw new Error(`no snapshot ${id}`);
      const snapshot = Snapshot.fromPartial({ id, root: 'r', builtDigest: s.builtDigest ?? '', packageCount: s.files.length });
      return { snapshot, indexBytes: s.index ?? indexFor(s.files), ...(s.fileDigests ? { fileDigests: s.fileDigests } : {}) };
    },
    async *fetch(id, path, offset) {
      requests.push({ path, offset });
      const file = snapshots.get(id)?.files.find((f) => f.path === path);
      if (!file) throw new Error(`no file ${path}`);
      for (let o = offset; o < file.data.length; o += chunk) {
        const err = hooks.failAt?.(path, o);
        if (err) throw err;
        const data = Buffer.from(file.data.subarray(o, o + chunk));
        const out: FetchFileResponse = { offset: BigInt(o), data: hooks.mangle?.(path, o, data) ?? data, totalSize: BigInt(file.data.length) };
        yield out;
      }
    },
  };
  return { source, requests };
}

/** An error grpc-js would raise when the host goes away. */
export function unavailable(): Error {
  return Object.assign(new Error('14 UNAVAILABLE: connection dropped'), { code: 14, details: 'connection dropped', metadata: undefined });
}
