import { createReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { AgentError, errnoCode } from '@binhost/shared';
import { status } from '@grpc/grpc-js';
import type { MirrorEntry } from './index-entries.js';
import type { MirrorStore } from './mirror-store.js';
import type { SnapshotSource } from './snapshot-source.js';
import { WriteBehind, type OpenWriter } from './file-writer.js';
import { inlineDigestJob, type DigestJob, type DigestWorker, type HexDigests } from './digest-worker.js';

/** A downloaded file did not match its index entry. */
export class VerificationError extends AgentError {
  override name = 'VerificationError';
  constructor(message: string) {
    super(message, status.DATA_LOSS);
  }
}

/** The disk is full (or over quota) while writing the mirror. */
export class MirrorDiskFullError extends AgentError {
  override name = 'MirrorDiskFullError';
  constructor(path: string, options?: ErrorOptions) {
    super(`no space left on the device while writing ${path} into the mirror; the previous mirror is intact`, status.RESOURCE_EXHAUSTED, options);
  }
}

/**
 * The first expected digest that `digests` do not match, or undefined when all match: the host's
 * SHA-256 when it sent one (it was checked against the index's digests on the host), else the
 * index's MD5 and SHA1.
 */
function mismatch(entry: MirrorEntry, digests: HexDigests): string | undefined {
  if (entry.sha256) return digests['sha256'] === entry.sha256 ? undefined : `SHA256 ${digests['sha256']} != ${entry.sha256}`;
  if (entry.md5 && digests['md5'] !== entry.md5) return `MD5 ${digests['md5']} != ${entry.md5}`;
  if (entry.sha1 && digests['sha1'] !== entry.sha1) return `SHA1 ${digests['sha1']} != ${entry.sha1}`;
  return undefined;
}

/** Options of {@link fetchOnce}. */
export interface FetchOnceOptions {
  store: MirrorStore;
  source: SnapshotSource;
  snapshotId: number;
  entry: MirrorEntry;
  openWriter: OpenWriter;
  /** Hashes the bytes beside the transfer. */
  hasher: DigestWorker;
  signal: AbortSignal;
  /** Called with the bytes of this file held so far. */
  onBytes(done: number): void;
  /** Called when a kept part file is resumed, with its length. */
  onResume?(offset: number): void;
}

/**
 * One attempt at bringing `entry` into the mirror: resume `partial/<key>.part` from its length
 * (re-hashing the kept prefix), append what the host sends, then verify SIZE and the host's SHA-256
 * (or, without it, the index's MD5 and SHA1) of the whole file before renaming it into `objects/`. A transport error leaves the part file for the
 * next attempt; a verification failure deletes it, so the next attempt starts from zero.
 */
export async function fetchOnce(o: FetchOnceOptions): Promise<void> {
  const { store, entry } = o;
  const part = store.partialPath(entry.key);
  // one strong digest hashed in place; without it, the index's two on the worker thread
  const job = entry.sha256 ? inlineDigestJob(['sha256']) : o.hasher.start([...(entry.md5 ? ['md5'] : []), ...(entry.sha1 ? ['sha1'] : [])]);
  try {
    return await download(o, part, job);
  } catch (err) {
    job.drop();
    throw err;
  }
}

async function download(o: FetchOnceOptions, part: string, job: DigestJob): Promise<void> {
  const { store, entry } = o;
  let offset = await partLength(part);
  if (offset > entry.size) {
    await rm(part, { force: true });
    offset = 0;
  }
  if (offset > 0) o.onResume?.(offset);
  if (offset > 0) for await (const chunk of createReadStream(part, { end: offset - 1 })) await job.update(chunk as Buffer);
  o.onBytes(offset);
  const writer = await o.openWriter(part).catch((err) => rethrowDisk(err, entry.path));
  const behind = new WriteBehind(writer);
  try {
    if (offset < entry.size || entry.size === 0) {
      for await (const msg of o.source.fetch(o.snapshotId, entry.path, offset, o.signal)) {
        if (Number(msg.totalSize) !== entry.size) {
          throw new VerificationError(`${entry.path}: the host serves ${msg.totalSize} bytes, the index says ${entry.size}`);
        }
        if (Number(msg.offset) !== offset) throw new AgentError(`${entry.path}: chunk at ${msg.offset}, expected ${offset}`, status.DATA_LOSS);
        if (msg.data.length === 0) continue;
        if (offset + msg.data.length > entry.size) throw new VerificationError(`${entry.path}: more bytes than its SIZE ${entry.size}`);
        // hashed while the disk takes the chunks before it (and, without a SHA-256, on the worker)
        await Promise.all([job.update(msg.data), behind.write(msg.data).catch((err) => rethrowDisk(err, entry.path))]);
        offset += msg.data.length;
        o.onBytes(offset);
      }
    }
    await behind.flush().catch((err) => rethrowDisk(err, entry.path));
    if (offset !== entry.size) throw new AgentError(`${entry.path}: stream ended at ${offset} of ${entry.size} bytes`, status.UNAVAILABLE);
    await writer.sync().catch((err) => rethrowDisk(err, entry.path));
  } finally {
    await behind.flush().catch(() => undefined); // nothing may still write into a closed or resumed part
    await writer.close().catch(() => undefined);
  }
  const wrong = mismatch(entry, await job.digest());
  if (wrong) {
    await rm(part, { force: true });
    throw new VerificationError(`${entry.path} failed verification (${wrong}); discarded`);
  }
  await rename(part, store.objectPath(entry.key));
}

async function partLength(part: string): Promise<number> {
  try {
    return (await stat(part)).size;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 0;
    throw err;
  }
}

function rethrowDisk(err: unknown, path: string): never {
  const code = errnoCode(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') throw new MirrorDiskFullError(path, { cause: err });
  throw err;
}
