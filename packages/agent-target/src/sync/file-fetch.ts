import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { AgentError, errnoCode } from '@binhost/shared';
import { status } from '@grpc/grpc-js';
import type { MirrorEntry } from './index-entries.js';
import type { MirrorStore } from './mirror-store.js';
import type { SnapshotSource } from './snapshot-source.js';
import type { OpenWriter } from './file-writer.js';

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

/** Hashes of one download, fed as bytes arrive (and with the kept prefix on resume). */
class Digests {
  private readonly md5: Hash | undefined;
  private readonly sha1: Hash | undefined;
  constructor(entry: MirrorEntry) {
    this.md5 = entry.md5 ? createHash('md5') : undefined;
    this.sha1 = entry.sha1 ? createHash('sha1') : undefined;
  }
  update(data: Uint8Array): void {
    this.md5?.update(data);
    this.sha1?.update(data);
  }
  /** The first mismatch, or undefined when every digest the index has matches. */
  mismatch(entry: MirrorEntry): string | undefined {
    const md5 = this.md5?.digest('hex');
    if (entry.md5 && md5 !== entry.md5) return `MD5 ${md5} != ${entry.md5}`;
    const sha1 = this.sha1?.digest('hex');
    if (entry.sha1 && sha1 !== entry.sha1) return `SHA1 ${sha1} != ${entry.sha1}`;
    return undefined;
  }
}

/** Options of {@link fetchOnce}. */
export interface FetchOnceOptions {
  store: MirrorStore;
  source: SnapshotSource;
  snapshotId: number;
  entry: MirrorEntry;
  openWriter: OpenWriter;
  signal: AbortSignal;
  /** Called with the bytes of this file held so far. */
  onBytes(done: number): void;
  /** Called when a kept part file is resumed, with its length. */
  onResume?(offset: number): void;
}

/**
 * One attempt at bringing `entry` into the mirror: resume `partial/<key>.part` from its length
 * (re-hashing the kept prefix), append what the host sends, then verify SIZE, MD5 and SHA1 of the
 * whole file before renaming it into `objects/`. A transport error leaves the part file for the
 * next attempt; a verification failure deletes it, so the next attempt starts from zero.
 */
export async function fetchOnce(o: FetchOnceOptions): Promise<void> {
  const { store, entry } = o;
  const part = store.partialPath(entry.key);
  const digests = new Digests(entry);
  let offset = await partLength(part);
  if (offset > entry.size) {
    await rm(part, { force: true });
    offset = 0;
  }
  if (offset > 0) o.onResume?.(offset);
  if (offset > 0) for await (const chunk of createReadStream(part, { end: offset - 1 })) digests.update(chunk as Buffer);
  o.onBytes(offset);
  const writer = await o.openWriter(part).catch((err) => rethrowDisk(err, entry.path));
  try {
    if (offset < entry.size || entry.size === 0) {
      for await (const msg of o.source.fetch(o.snapshotId, entry.path, offset, o.signal)) {
        if (Number(msg.totalSize) !== entry.size) {
          throw new VerificationError(`${entry.path}: the host serves ${msg.totalSize} bytes, the index says ${entry.size}`);
        }
        if (Number(msg.offset) !== offset) throw new AgentError(`${entry.path}: chunk at ${msg.offset}, expected ${offset}`, status.DATA_LOSS);
        if (msg.data.length === 0) continue;
        if (offset + msg.data.length > entry.size) throw new VerificationError(`${entry.path}: more bytes than its SIZE ${entry.size}`);
        await writer.write(msg.data).catch((err) => rethrowDisk(err, entry.path));
        digests.update(msg.data);
        offset += msg.data.length;
        o.onBytes(offset);
      }
    }
    if (offset !== entry.size) throw new AgentError(`${entry.path}: stream ended at ${offset} of ${entry.size} bytes`, status.UNAVAILABLE);
    await writer.sync().catch((err) => rethrowDisk(err, entry.path));
  } finally {
    await writer.close().catch(() => undefined);
  }
  const mismatch = digests.mismatch(entry);
  if (mismatch) {
    await rm(part, { force: true });
    throw new VerificationError(`${entry.path} failed verification (${mismatch}); discarded`);
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
