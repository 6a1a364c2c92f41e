/**
 * An unbounded-by-default queue consumed as an async iterable; the consumer ends when the signal
 * aborts or {@link AsyncQueue.close} is called. `limit` drops the oldest items past it, for
 * subscribers that only care about recent events (the newest wins).
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(private readonly limit = Number.POSITIVE_INFINITY) {}

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    if (this.items.length > this.limit) this.items.shift();
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  get size(): number {
    return this.items.length;
  }

  /** Iterates until closed or `signal` aborts; items already queued when closed are still delivered. */
  async *drain(signal?: AbortSignal): AsyncGenerator<T> {
    const onAbort = () => this.wake?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal?.aborted) return;
        const item = this.items.shift();
        if (item !== undefined) {
          yield item;
          continue;
        }
        if (this.closed) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.drain();
  }
}
