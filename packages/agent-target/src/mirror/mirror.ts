import { setMaxListeners } from 'node:events';
import { rm } from 'node:fs/promises';
import { backoffDelay, errorMessage, isStatus, RETRYABLE, sleep, type BackoffOptions, type Logger, type TransferProgress } from '@binhost/shared';
import { mirrorEntries, type MirrorEntry } from './index-entries.js';
import type { MirroredSnapshot, MirrorStore } from './mirror-store.js';
import type { SnapshotSource } from './snapshot-source.js';
import { fetchOnce, MirrorDiskFullError, VerificationError } from './file-fetch.js';
import { openAppendWriter, type OpenWriter } from './file-writer.js';
import { DigestWorker } from './digest-worker.js';

/** Options for {@link Mirror}. */
export interface MirrorOptions {
  store: MirrorStore;
  source: SnapshotSource;
  log: Logger;
  /** Swapped in tests to inject write errors. @default node:fs appends */
  openWriter?: OpenWriter;
  /** Backoff between attempts after a transport error. @default { initialMs: 500, maxMs: 30_000 } */
  backoff?: BackoffOptions;
  /** Transport errors tolerated per file before the sync fails. @default 20 */
  maxTransportRetries?: number;
  /** Verification failures tolerated per file (each refetches from zero). @default 2 */
  maxVerifyRetries?: number;
  /** Progress is reported at most this often (and at the end of each file). @default 250 */
  progressIntervalMs?: number;
  /** Files over {@link SMALL_FILE_BYTES} fetched at the same time. @default 8 */
  concurrency?: number;
  /**
   * Files of at most {@link SMALL_FILE_BYTES} fetched at the same time, beside the large ones: they
   * are bound by round trips and fsyncs, not bytes, and hold little memory each. @default 24
   */
  smallConcurrency?: number;
}

/** Files up to this size go in the small-file lane ({@link MirrorOptions.smallConcurrency}). @default 1 MiB */
const SMALL_FILE_BYTES = 1024 * 1024;

/** What one sync did. */
export interface MirrorResult {
  readonly mirrored: MirroredSnapshot;
  readonly filesFetched: number;
  readonly bytesFetched: number;
}

/**
 * Brings a snapshot into the target's mirror: fetches only the files not already held, verifies
 * each before it counts, resumes interrupted downloads from their offset, and makes the new index
 * visible only when every file it names is in place. Nothing of a failed sync is ever served.
 */
export class Mirror {
  /** Hashes downloads beside the transfer; its thread keeps no process alive when idle. */
  private readonly hasher = new DigestWorker();

  constructor(private readonly options: MirrorOptions) {}

  async sync(snapshotId: number, signal: AbortSignal, onProgress: (p: TransferProgress) => void = () => undefined): Promise<MirrorResult> {
    const { store, source, log } = this.options;
    await store.ensureDirs();
    const { snapshot, indexBytes, fileDigests } = await this.withRetries('index', signal, () => source.publication(snapshotId, signal));
    const entries = mirrorEntries(indexBytes.toString('utf8'), `snapshot ${snapshot.id} Packages`, fileDigests);
    const missing: MirrorEntry[] = [];
    for (const e of entries) if (!(await store.holds(e))) missing.push(e);
    const bytesTotal = missing.reduce((n, e) => n + e.size, 0);
    log.info({ snapshotId: snapshot.id, files: entries.length, missing: missing.length, bytes: bytesTotal }, 'mirroring snapshot');
    await this.fetchAll(snapshot.id, missing, bytesTotal, signal, onProgress);
    const mirrored = await store.commit(snapshot, indexBytes);
    log.info({ snapshotId: snapshot.id, filesFetched: missing.length, bytesFetched: bytesTotal }, 'snapshot mirrored');
    return { mirrored, filesFetched: missing.length, bytesFetched: bytesTotal };
  }

  /**
   * Fetches `missing` in two lanes: up to `concurrency` large files and `smallConcurrency` small
   * ones in flight (small files are latency-bound; large ones overlap the host's reads with our
   * hashing). The first failure stops the others, and nothing is committed.
   */
  private async fetchAll(
    snapshotId: number,
    missing: readonly MirrorEntry[],
    bytesTotal: number,
    outer: AbortSignal,
    onProgress: (p: TransferProgress) => void,
  ): Promise<void> {
    const stop = new AbortController();
    const signal = AbortSignal.any([outer, stop.signal]);
    // every file in flight listens on it (its transfer is cancelled with the sync): 32 and more
    setMaxListeners(0, signal);
    const inFlight = new Map<string, number>();
    let settledBytes = 0;
    let filesDone = 0;
    let last = 0;
    const report = (entry: MirrorEntry, done: number, force = false) => {
      inFlight.set(entry.path, done);
      const now = Date.now();
      if (!force && now - last < (this.options.progressIntervalMs ?? 250)) return;
      last = now;
      let bytesDone = settledBytes;
      for (const v of inFlight.values()) bytesDone += v;
      onProgress({ path: entry.path, bytesDone: BigInt(bytesDone), bytesTotal: BigInt(bytesTotal), filesDone, filesTotal: missing.length });
    };
    const worker = async (queue: MirrorEntry[]) => {
      for (let entry = queue.shift(); entry && !signal.aborted; entry = queue.shift()) {
        await this.fetchVerified(snapshotId, entry, signal, (done) => report(entry, done));
        settledBytes += entry.size;
        filesDone++;
        report(entry, 0, true);
        inFlight.delete(entry.path);
      }
    };
    const small = missing.filter((e) => e.size <= SMALL_FILE_BYTES);
    const large = missing.filter((e) => e.size > SMALL_FILE_BYTES);
    const lane = (queue: MirrorEntry[], n: number) =>
      Array.from({ length: Math.min(n, queue.length) }, () => worker(queue).catch((err: unknown) => (stop.abort(), Promise.reject(err))));
    const results = await Promise.allSettled([...lane(large, this.options.concurrency ?? 8), ...lane(small, this.options.smallConcurrency ?? 24)]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    outer.throwIfAborted();
  }

  private async fetchVerified(snapshotId: number, entry: MirrorEntry, signal: AbortSignal, report: (done: number) => void): Promise<void> {
    let verifyFailures = 0;
    for (;;) {
      try {
        await this.withRetries(entry.path, signal, () =>
          fetchOnce({
            store: this.options.store,
            source: this.options.source,
            snapshotId,
            entry,
            openWriter: this.options.openWriter ?? openAppendWriter,
            hasher: this.hasher,
            signal,
            onBytes: report,
            onResume: (offset) => this.options.log.info({ path: entry.path, offset }, 'resuming download'),
          }),
        );
        return;
      } catch (err) {
        if (err instanceof MirrorDiskFullError) {
          await rm(this.options.store.partialPath(entry.key), { force: true });
          throw err;
        }
        if (!(err instanceof VerificationError) || ++verifyFailures > (this.options.maxVerifyRetries ?? 2)) throw err;
        this.options.log.warn({ path: entry.path, err: errorMessage(err) }, 'file failed verification, refetching');
      }
    }
  }

  /** Runs `op`, retrying transport failures (host gone, stream stalled) with backoff. */
  private async withRetries<T>(what: string, signal: AbortSignal, op: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (signal.aborted || !isTransportError(err) || attempt >= (this.options.maxTransportRetries ?? 20)) throw err;
        const delay = backoffDelay(attempt, this.options.backoff);
        this.options.log.warn({ what, err: errorMessage(err), retryInMs: delay }, 'transfer interrupted, resuming');
        await sleep(delay, signal);
      }
    }
  }
}

/** A failure worth retrying: the host or the network, not the data. */
function isTransportError(err: unknown): boolean {
  if (err instanceof VerificationError || err instanceof MirrorDiskFullError) return false;
  if (isStatus(err, ...RETRYABLE)) return true;
  // idle timeout (call destroyed locally) and streams cut short
  return /no message for|stream ended at/.test(errorMessage(err));
}
