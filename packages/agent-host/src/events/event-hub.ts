import { AsyncQueue, type OpenEventsResponse } from '@binhost/shared';

/** One event as the target receives it, minus the sequence number the hub assigns. */
export type TargetEvent = NonNullable<OpenEventsResponse['event']>;

/**
 * Fans events out to the event streams each target has open. Sequence numbers are per target and
 * only increase, so a target can tell a duplicate from a new event. A subscriber that falls more
 * than `backlog` events behind loses the oldest: every event describes current state, so the
 * newest is what matters.
 */
export class EventHub {
  private readonly subscribers = new Map<string, Set<AsyncQueue<OpenEventsResponse>>>();
  private readonly sequences = new Map<string, number>();

  constructor(private readonly backlog = 1000) {}

  /** Sends `event` to every open stream of `target`. Returns how many streams got it. */
  publish(target: string, event: TargetEvent): number {
    const sequence = (this.sequences.get(target) ?? 0) + 1;
    this.sequences.set(target, sequence);
    const message: OpenEventsResponse = { sequence, at: new Date(), event };
    const subs = this.subscribers.get(target);
    for (const q of subs ?? []) q.push(message);
    return subs?.size ?? 0;
  }

  /** Opens a subscription; `close` it (or abort the consumer) when the stream ends. */
  subscribe(target: string): AsyncQueue<OpenEventsResponse> & { unsubscribe(): void } {
    const q = new AsyncQueue<OpenEventsResponse>(this.backlog);
    let set = this.subscribers.get(target);
    if (!set) this.subscribers.set(target, (set = new Set()));
    set.add(q);
    return Object.assign(q, {
      unsubscribe: () => {
        q.close();
        set.delete(q);
        if (set.size === 0) this.subscribers.delete(target);
      },
    });
  }

  /** Number of open event streams of `target`: it is connected when this is > 0. */
  streams(target: string): number {
    return this.subscribers.get(target)?.size ?? 0;
  }

  /** Ends every stream (server shutdown). */
  closeAll(): void {
    for (const set of this.subscribers.values()) for (const q of set) q.close();
    this.subscribers.clear();
  }
}
