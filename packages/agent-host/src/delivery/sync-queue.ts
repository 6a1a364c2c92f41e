import type { Logger, SyncRequest } from '@binhost/shared';
import type { TargetRegistry } from '../registry/target-registry.js';
import type { QueuedSync } from '../registry/target-store.js';
import type { EventHub } from '../events/event-hub.js';

/** What the sync queue needs. */
export interface SyncQueueDeps {
  registry: TargetRegistry;
  hub: EventHub;
  /** The snapshot published for a target now, 0 if none. */
  publishedSnapshotId(target: string): number;
}

/**
 * Stores `request` as the target's pending sync, replacing any older one (only the latest
 * matters: it names the same published snapshot, and its `confirmed` is the admin's last word).
 * Kept in the registry record, so it survives a host restart.
 *
 * Must be called in the same tick as the check that found no event stream open: the registry
 * serializes record updates in call order, and {@link openStreamAndTakeQueued} queues its take
 * right after subscribing, so a request is either published to the new stream or taken by it.
 */
export function queueSync(registry: TargetRegistry, target: string, request: Omit<QueuedSync, 'queuedAt'>, now = new Date()): Promise<unknown> {
  const queued: QueuedSync = { ...request, args: [...request.args], queuedAt: now.toISOString() };
  return registry.update(target, (r) => {
    r.pendingSync = queued;
  });
}

/** The target's pending sync, if any (read-only: status, tests). */
export function pendingSync(registry: TargetRegistry, target: string): QueuedSync | undefined {
  return registry.has(target) ? registry.get(target).pendingSync : undefined;
}

/**
 * Called when `target` has just subscribed to the hub (its event stream opened): marks it seen
 * and, if a sync request waits, clears it and publishes it as `sync_requested`, with the same
 * request id and the snapshot published now (a build may have published a newer one meanwhile).
 * The event follows the stream's `hello`, since the stream yields hello before draining the hub.
 * Returns the request delivered, if any.
 */
export async function openStreamAndTakeQueued(deps: SyncQueueDeps, target: string, log: Logger): Promise<SyncRequest | undefined> {
  let taken: unknown;
  await deps.registry.update(target, (r) => {
    r.lastSeen = new Date().toISOString();
    taken = r.pendingSync;
    r.pendingSync = undefined;
  });
  if (taken === undefined) return undefined;
  const queued = parseQueuedSync(taken);
  if (!queued) {
    log.warn({ target, pendingSync: taken }, `dropped a malformed pendingSync in ${target}'s record.json`);
    return undefined;
  }
  const snapshotId = deps.publishedSnapshotId(target);
  if (snapshotId === 0) {
    log.warn({ target, requestId: queued.requestId }, 'dropped a queued sync: no snapshot is published any more');
    return undefined;
  }
  const request: SyncRequest = { requestId: queued.requestId, snapshotId, args: queued.args, confirmed: queued.confirmed, reason: queued.reason };
  deps.hub.publish(target, { $case: 'syncRequested', value: request });
  log.info({ target, requestId: queued.requestId, snapshotId, queuedAt: queued.queuedAt }, 'queued sync request delivered');
  return request;
}

/** Checks a record's pendingSync as read from disk (record.json may have been edited by hand). */
export function parseQueuedSync(value: unknown): QueuedSync | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const ok =
    typeof v['requestId'] === 'string' &&
    v['requestId'] !== '' &&
    typeof v['confirmed'] === 'boolean' &&
    typeof v['reason'] === 'string' &&
    typeof v['queuedAt'] === 'string' &&
    Array.isArray(v['args']) &&
    v['args'].every((a) => typeof a === 'string');
  if (!ok) return undefined;
  return { requestId: v['requestId'] as string, args: [...(v['args'] as string[])], confirmed: v['confirmed'] as boolean, reason: v['reason'] as string, queuedAt: v['queuedAt'] as string };
}
