import { randomUUID } from 'node:crypto';
import {
  FailedPreconditionError,
  InstallPolicy,
  installPolicyToJSON,
  InvalidArgumentError,
  type SetInstallPolicyRequest,
  type TriggerSyncRequest,
  type TriggerSyncResponse,
} from '@binhost/shared';
import type { TargetRegistry } from '../registry/target-registry.js';
import type { EventHub } from '../events/event-hub.js';
import type { PublicationSource } from '../delivery/publication-source.js';
import { queueSync } from '../delivery/sync-queue.js';

/** What the sync-related admin calls need. */
export interface SyncAdminDeps {
  registry: TargetRegistry;
  hub: EventHub;
  publications: PublicationSource;
}

/**
 * Sends the target a `sync_requested` event for its published snapshot, now or never: `delivered`
 * is false when the target has no event stream open, and nothing is kept (the Emerge relay, whose
 * caller is waiting, wants exactly that). AdminService.TriggerSync uses {@link requestSync}.
 */
export function triggerSync(deps: SyncAdminDeps, req: TriggerSyncRequest, reason = 'binhostctl sync'): TriggerSyncResponse {
  deps.registry.get(req.target);
  const snapshotId = deps.publications.publishedId(req.target);
  if (snapshotId === 0) throw new FailedPreconditionError(`no snapshot is published for ${req.target}: build first`);
  const requestId = randomUUID();
  const streams = deps.hub.publish(req.target, {
    $case: 'syncRequested',
    value: { requestId, snapshotId, args: req.args, confirmed: req.confirmed, reason },
  });
  return { requestId, delivered: streams > 0 };
}

/**
 * AdminService.TriggerSync: {@link triggerSync}, and when the target is not connected, keeps the
 * request (the latest per target) until its next event stream opens, where it is delivered with
 * the same request id (see sync-queue.ts). `delivered` is then false.
 */
export async function requestSync(deps: SyncAdminDeps, req: TriggerSyncRequest): Promise<TriggerSyncResponse> {
  const reason = 'binhostctl sync';
  const res = triggerSync(deps, req, reason);
  // same tick as triggerSync's look at the open streams: see queueSync
  if (!res.delivered) await queueSync(deps.registry, req.target, { requestId: res.requestId, args: req.args, confirmed: req.confirmed, reason });
  return res;
}

/**
 * AdminService.SetInstallPolicy: stores the host-side override (UNSPECIFIED clears it, and the
 * target's own `install.policy` applies again) and tells the target at once.
 */
export async function setInstallPolicy(deps: SyncAdminDeps, req: SetInstallPolicyRequest): Promise<void> {
  deps.registry.get(req.name);
  if (!(req.policy in InstallPolicy) || req.policy === InstallPolicy.UNRECOGNIZED) {
    throw new InvalidArgumentError(`unknown install policy ${req.policy}`);
  }
  const name =
    req.policy === InstallPolicy.INSTALL_POLICY_UNSPECIFIED ? undefined : installPolicyToJSON(req.policy).replace('INSTALL_POLICY_', '').toLowerCase();
  await deps.registry.update(req.name, (r) => {
    r.installPolicy = name;
  });
  deps.hub.publish(req.name, { $case: 'installPolicyChanged', value: { policy: req.policy } });
}
