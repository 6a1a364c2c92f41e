import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * The worker's whole program. It is small and plain CommonJS so that it runs the same from the
 * built agent and from the TypeScript sources under test (no second entry point to resolve).
 * Bytes arrive through the shared ring, in the order of the `update` messages; every update is
 * acknowledged so that the agent can reuse that part of the ring.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const ring = new Uint8Array(workerData.ring);
let readAt = 0;
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    const hashes = jobs.get(m.id);
    if (hashes) for (const [, h] of hashes) h.update(ring.subarray(readAt, readAt + m.length));
    readAt = (readAt + m.length) % ring.length;
    parentPort.postMessage({ hashed: m.length });
  } else if (m.op === 'start') jobs.set(m.id, m.algorithms.map((a) => [a, createHash(a)]));
  else if (m.op === 'end') {
    const hashes = jobs.get(m.id);
    jobs.delete(m.id);
    parentPort.postMessage({ id: m.id, digests: Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')])) });
  } else if (m.op === 'drop') jobs.delete(m.id);
});
`;

/** Hex digests by algorithm name (`md5`, `sha1`). */
export type HexDigests = Record<string, string>;

/** One file being hashed: feed it bytes in order, then ask for the digests once. */
export interface DigestJob {
  /** Copies `data` into the ring for the worker; waits only while the ring is full. */
  update(data: Uint8Array): Promise<void>;
  /** The digests of everything fed, in hex. The job is finished afterwards. */
  digest(): Promise<HexDigests>;
  /** Forgets the job (after a failed download); its bytes are discarded. */
  drop(): void;
}

/** One hashing thread and the ring of memory it reads from. */
interface Thread {
  worker: Worker;
  ring: Uint8Array;
  /** Where the next byte goes into the ring. */
  writeAt: number;
  /** Bytes in the ring the worker has not acknowledged yet. */
  used: number;
  /** Callers waiting for ring space. */
  waiting: (() => void)[];
  /** Jobs waiting for their digests. */
  results: Map<number, { resolve(d: HexDigests): void; reject(err: Error): void }>;
  /** Set once the thread died: every call fails with it. */
  error?: Error;
}

/**
 * Hashes downloads on a worker thread, so that MD5 and SHA1 run beside the TLS, HTTP/2 and disk
 * work of the next chunks instead of after them on the agent's one thread (bench/delivery.mjs).
 *
 * Bytes reach the thread through one fixed ring of shared memory: a chunk is copied in, its length
 * posted, and the space is reused once the thread acknowledges it. Nothing is allocated per chunk,
 * so memory stays flat however fast the bytes come (moving or cloning chunks instead let both
 * threads pile up freed buffers until their next GC: +80 MiB while pulling 4 GiB). The thread is
 * only referenced while jobs run: an idle agent exits as if it had none.
 */
export class DigestWorker {
  private thread: Thread | undefined;
  private readonly active = new Set<number>();
  private nextId = 1;

  constructor(private readonly ringBytes = 4 * 1024 * 1024) {}

  /** Starts hashing one file with `algorithms`. */
  start(algorithms: readonly string[]): DigestJob {
    const t = this.open();
    const id = this.nextId++;
    this.active.add(id);
    t.worker.ref();
    t.worker.postMessage({ op: 'start', id, algorithms });
    return {
      update: (data) => this.feed(t, id, data),
      digest: () =>
        new Promise<HexDigests>((resolve, reject) => {
          if (t.error) return reject(t.error);
          t.results.set(id, { resolve, reject });
          t.worker.postMessage({ op: 'end', id });
        }).finally(() => this.finish(t, id)),
      drop: () => {
        if (!this.active.has(id)) return;
        if (!t.error) t.worker.postMessage({ op: 'drop', id });
        this.finish(t, id);
      },
    };
  }

  /** Stops the thread; jobs still running fail. */
  async close(): Promise<void> {
    const t = this.thread;
    this.thread = undefined;
    if (!t) return;
    this.fail(t, new Error('the hashing thread was closed'));
    await t.worker.terminate();
  }

  private async feed(t: Thread, id: number, data: Uint8Array): Promise<void> {
    for (let done = 0; done < data.length; ) {
      while (t.used === t.ring.length && !t.error) await new Promise<void>((wake) => t.waiting.push(wake));
      if (t.error) throw t.error;
      // never across the ring's end, so the thread always reads one contiguous piece
      const piece = Math.min(data.length - done, t.ring.length - t.used, t.ring.length - t.writeAt);
      t.ring.set(data.subarray(done, done + piece), t.writeAt);
      t.writeAt = (t.writeAt + piece) % t.ring.length;
      t.used += piece;
      t.worker.postMessage({ op: 'update', id, length: piece });
      done += piece;
    }
    if (t.error) throw t.error;
  }

  private open(): Thread {
    if (this.thread && !this.thread.error) return this.thread;
    const ring = new SharedArrayBuffer(this.ringBytes);
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { ring } });
    worker.unref();
    const t: Thread = { worker, ring: new Uint8Array(ring), writeAt: 0, used: 0, waiting: [], results: new Map() };
    worker.on('message', (m: { hashed?: number; id?: number; digests?: HexDigests }) => {
      if (m.hashed !== undefined) {
        t.used -= m.hashed;
        for (const wake of t.waiting.splice(0)) wake();
      } else if (m.id !== undefined && m.digests) t.results.get(m.id)?.resolve(m.digests);
    });
    worker.on('error', (err) => this.fail(t, new Error(`the hashing thread failed: ${err.message}`, { cause: err })));
    this.thread = t;
    return t;
  }

  private finish(t: Thread, id: number): void {
    this.active.delete(id);
    t.results.delete(id);
    if (this.active.size === 0) t.worker.unref();
  }

  /** A dead thread fails its jobs; the next job starts a new thread with a new ring. */
  private fail(t: Thread, error: Error): void {
    t.error = error;
    for (const wake of t.waiting.splice(0)) wake();
    for (const r of t.results.values()) r.reject(error);
    t.results.clear();
  }
}

/**
 * A {@link DigestJob} that hashes on the calling thread, where the bytes already are. Used for the
 * host's SHA-256 (≈ 1.4 GiB/s with SHA-NI): hashing a 256 KiB chunk in place costs less than
 * copying it into the worker's ring and posting its length (bench/RESULTS.md, "wire speed").
 */
export function inlineDigestJob(algorithms: readonly string[]): DigestJob {
  let hashes: [string, Hash][] | undefined = algorithms.map((a) => [a, createHash(a)]);
  return {
    update(data) {
      if (hashes) for (const [, h] of hashes) h.update(data);
      return Promise.resolve();
    },
    digest() {
      const done = hashes;
      hashes = undefined;
      if (!done) return Promise.reject(new Error('digest job already finished'));
      return Promise.resolve(Object.fromEntries(done.map(([a, h]) => [a, h.digest('hex')])));
    },
    drop() {
      hashes = undefined;
    },
  };
}
