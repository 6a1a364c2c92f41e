import { open } from 'node:fs/promises';

/** The few file operations a download needs; tests swap it to inject ENOSPC. */
export interface FileWriter {
  write(data: Uint8Array): Promise<void>;
  /** Appends several buffers in one call (one syscall where it can); `write` each one when absent. */
  writev?(data: readonly Uint8Array[]): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Opens `path` for appending (created if missing). */
export type OpenWriter = (path: string) => Promise<FileWriter>;

/** Bytes appended between two background flushes of a file. @default 32 MiB */
const FLUSH_EVERY_BYTES = 32 * 1024 * 1024;
/** Background flushes running in this process (at most one: each holds a thread-pool thread). */
let flushing = 0;

/**
 * The real thing: node:fs appends, looping until each buffer is written whole.
 *
 * Every {@link FLUSH_EVERY_BYTES} a `fdatasync` is started in the background (one in the whole
 * process at a time), so the disk writes the file back while the rest of it arrives; the final
 * `sync()` then has little left to wait for. Without it, the page cache held the whole file dirty
 * and the fsync at its end waited for all of it (≈ 1.4–2.6 s per GiB on the bench machine's disk).
 */
export const openAppendWriter: OpenWriter = async (path) => {
  const handle = await open(path, 'a', 0o644);
  let sinceFlush = 0;
  let flush: Promise<void> | undefined;
  let flushError: unknown;
  const wrote = (n: number) => {
    sinceFlush += n;
    if (sinceFlush < FLUSH_EVERY_BYTES || flush || flushing > 0) return;
    sinceFlush = 0;
    flushing++;
    flush = handle
      .datasync()
      .catch((err: unknown) => void (flushError ??= err))
      .finally(() => ((flushing--, (flush = undefined))));
  };
  const settle = async () => {
    await flush;
    if (flushError) throw flushError;
  };
  return {
    async write(data) {
      if (flushError) throw flushError;
      let done = 0;
      while (done < data.length) done += (await handle.write(data, done, data.length - done)).bytesWritten;
      wrote(data.length);
    },
    async writev(data) {
      if (flushError) throw flushError;
      let rest = data;
      while (rest.length) {
        let written = (await handle.writev(rest)).bytesWritten;
        // a short write: drop what went out, keep the unwritten tail of a partly written buffer
        while (rest.length && written >= rest[0]!.length) (written -= rest[0]!.length), (rest = rest.slice(1));
        if (written > 0) rest = [rest[0]!.subarray(written), ...rest.slice(1)];
      }
      wrote(data.reduce((n, d) => n + d.length, 0));
    },
    async sync() {
      await settle();
      await handle.sync();
    },
    async close() {
      await flush?.catch(() => undefined); // never close under a running flush
      await handle.close();
    },
  };
};

/** Bytes a {@link WriteBehind} lets wait for the disk before a caller waits too. @default 1 MiB */
const WRITE_BEHIND_BYTES = 1024 * 1024;

/** Buffers written by one `writev` at most (well under IOV_MAX). */
const MAX_BATCH = 64;

/**
 * Appends in order without making the caller wait for each write: the next chunk is received and
 * hashed while the disk takes the last ones, and chunks that arrived meanwhile go out together in
 * one `writev` (fewer syscalls and thread-pool round trips). At most `limit` bytes wait (the
 * caller waits beyond that, so memory stays flat); the first failure is kept and thrown by the
 * next call, and nothing after it is written.
 */
export class WriteBehind {
  private readonly queue: Uint8Array[] = [];
  /** Bytes queued or being written. */
  private pending = 0;
  private running: Promise<void> | undefined;
  private readonly roomWaiters: (() => void)[] = [];
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly writer: FileWriter,
    private readonly limit = WRITE_BEHIND_BYTES,
  ) {}

  /** Queues `data` (kept by reference until written); resolves once there is room for more. */
  async write(data: Uint8Array): Promise<void> {
    this.throwIfFailed();
    this.queue.push(data);
    this.pending += data.length;
    this.running ??= this.drain();
    while (this.pending > this.limit && !this.failure) await new Promise<void>((wake) => this.roomWaiters.push(wake));
    this.throwIfFailed();
  }

  /** Waits until every queued byte is written; throws the first write failure. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    this.throwIfFailed();
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.failure) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const bytes = batch.reduce((n, b) => n + b.length, 0);
      try {
        if (batch.length > 1 && this.writer.writev) await this.writer.writev(batch);
        else for (const b of batch) await this.writer.write(b);
      } catch (error) {
        this.failure = { error };
        this.queue.length = 0;
      }
      this.pending -= bytes;
      for (const wake of this.roomWaiters.splice(0)) wake();
    }
    this.running = undefined;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
