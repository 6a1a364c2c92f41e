import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSafeRelativePath, errnoCode, indexValue, parsePackagesIndex, type PackagesIndex } from '@binhost/shared';

/**
 * The SHA-256 of every file of a snapshot, written once when the snapshot is made and sent to
 * targets with its index (GetPublication `file_digests`).
 *
 * Portage's `Packages` index carries only MD5 and SHA1. A target checking both hashes each byte
 * twice (MD5 alone runs at ≈ 640 MiB/s here, the largest cost of a pull: bench/RESULTS.md);
 * SHA-256 is one stronger digest at ≈ 1.4 GiB/s (SHA-NI). The chain of trust stays unbroken: a
 * file's SHA-256 is recorded only after its SIZE and SHA1 (MD5 when the index has no SHA1) were
 * checked against the index in the same read, so it names exactly the bytes the index names.
 * A file that does not match its index gets no SHA-256; the target then checks it against the
 * index and refuses it.
 */
export const SNAPSHOT_DIGESTS_FILE = 'digests.json';

/** One file's strong digest. */
export interface FileDigest {
  readonly size: number;
  /** SHA-256, 32 bytes. */
  readonly sha256: Buffer;
}

/** The `digests.json` of a snapshot: `{"sha256": {PATH: [SIZE, HEX]}}`. */
interface DigestsFile {
  sha256: Record<string, [number, string]>;
}

/**
 * Hashes the files `index` names under `dir` and returns the contents of `digests.json`.
 * Reads each file once; files missing or not matching the index are left out.
 */
export async function computeSnapshotDigests(dir: string, index: PackagesIndex): Promise<string> {
  const out: DigestsFile = { sha256: {} };
  for (const entry of index.packages) {
    const path = indexValue(entry, 'PATH') ?? `${indexValue(entry, 'CPV') ?? ''}.tbz2`;
    assertSafeRelativePath(path, 'Packages PATH');
    const size = Number(indexValue(entry, 'SIZE'));
    const sha1 = indexValue(entry, 'SHA1')?.toLowerCase();
    const md5 = indexValue(entry, 'MD5')?.toLowerCase();
    // one index digest is enough to pin the bytes; SHA1 is the stronger and the faster of the two
    const [algorithm, expected] = sha1 ? ['sha1', sha1] : md5 ? ['md5', md5] : [];
    if (!algorithm || !Number.isSafeInteger(size) || out.sha256[path]) continue;
    const check = createHash(algorithm);
    const strong = createHash('sha256');
    let bytes = 0;
    try {
      for await (const chunk of createReadStream(join(dir, path), { highWaterMark: 1024 * 1024 })) {
        check.update(chunk as Buffer);
        strong.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue;
      throw err;
    }
    if (bytes === size && check.digest('hex') === expected) out.sha256[path] = [size, strong.digest('hex')];
  }
  return JSON.stringify(out) + '\n';
}

/**
 * Writes `digests.json` into a snapshot directory laid out by hand (benchmarks, tests); the host's
 * own publishing writes it through its snapshot store before the directory becomes visible.
 */
export async function writeSnapshotDigests(dir: string): Promise<void> {
  const index = parsePackagesIndex(await readFile(join(dir, 'Packages'), 'utf8'), join(dir, 'Packages'));
  await writeFile(join(dir, SNAPSHOT_DIGESTS_FILE), await computeSnapshotDigests(dir, index));
}

/**
 * Reads a snapshot's digests. A snapshot made before digests existed, or one whose file is
 * damaged, has none: its targets verify against the index alone, as they did before.
 */
export async function readSnapshotDigests(dir: string): Promise<ReadonlyMap<string, FileDigest>> {
  const digests = new Map<string, FileDigest>();
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, SNAPSHOT_DIGESTS_FILE), 'utf8'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || err instanceof SyntaxError) return digests;
    throw err;
  }
  const table = (raw as Partial<DigestsFile> | null)?.sha256;
  if (typeof table !== 'object' || table === null) return digests;
  for (const [path, value] of Object.entries(table)) {
    if (!Array.isArray(value)) continue;
    const [size, hex] = value as unknown[];
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) continue;
    if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) continue;
    digests.set(path, { size, sha256: Buffer.from(hex, 'hex') });
  }
  return digests;
}
