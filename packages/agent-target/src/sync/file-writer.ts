import { open } from 'node:fs/promises';

/** The few file operations a download needs; tests swap it to inject ENOSPC. */
export interface FileWriter {
  write(data: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Opens `path` for appending (created if missing). */
export type OpenWriter = (path: string) => Promise<FileWriter>;

/** The real thing: node:fs appends, looping until each buffer is written whole. */
export const openAppendWriter: OpenWriter = async (path) => {
  const handle = await open(path, 'a', 0o644);
  return {
    async write(data) {
      let done = 0;
      while (done < data.length) done += (await handle.write(data, done, data.length - done)).bytesWritten;
    },
    sync: () => handle.sync(),
    close: () => handle.close(),
  };
};

/** Bytes a {@link WriteBehind} lets wait for the disk before a caller waits too. @default 4 MiB */
export const WRITE_BEHIND_BYTES = 4 * 1024 * 1024;

/**
 * Appends in order without making the caller wait for each write: the next chunk is received and
 * hashed while the disk takes the last one. At most `limit` bytes wait (the caller waits beyond
 * that, so memory stays flat); the first failure is kept and thrown by the next call.
 */
export class WriteBehind {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;
  private error: unknown;
  private failed = false;

  constructor(
    private readonly writer: FileWriter,
    private readonly limit = WRITE_BEHIND_BYTES,
  ) {}

  /** Queues `data` (kept by reference until written); resolves once there is room for more. */
  async write(data: Uint8Array): Promise<void> {
    if (this.failed) throw this.error;
    this.waiting += data.length;
    this.tail = this.tail.then(async () => {
      if (this.failed) return;
      try {
        await this.writer.write(data);
      } catch (err) {
        [this.failed, this.error] = [true, err];
      } finally {
        this.waiting -= data.length;
      }
    });
    if (this.waiting > this.limit) await this.tail;
    if (this.failed) throw this.error;
  }

  /** Waits until every queued byte is written; throws the first write failure. */
  async flush(): Promise<void> {
    await this.tail;
    if (this.failed) throw this.error;
  }
}
