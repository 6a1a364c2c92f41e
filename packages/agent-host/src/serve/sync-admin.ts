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
import type { PublicationSource } from './publication-source.js';

/** What the sync-related admin calls need. */
export interface SyncAdminDeps {
  registry: TargetRegistry;
  hub: EventHub;
  publications: PublicationSource;
}

/**
 * AdminService.TriggerSync: sends the target a `sync_requested` event for its published snapshot.
 * `delivered` is false when the target has no event stream open; it then syncs by its policy on
 * its next connection (Hello carries the published snapshot), and a confirmation must be repeated.
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
