/** Options for {@link backoffDelay}. */
export interface BackoffOptions {
  /** @default 500 */
  initialMs?: number;
  /** @default 30_000 */
  maxMs?: number;
  /** @default 2 */
  factor?: number;
}

/**
 * "Full jitter" exponential backoff: a random delay in [0, min(max, initial·factor^attempt)], so
 * many targets reconnecting after a host restart do not arrive at once.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const cap = Math.min(options.maxMs ?? 30_000, (options.initialMs ?? 500) * (options.factor ?? 2) ** attempt);
  return Math.max(50, Math.floor(random() * cap));
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
