import {
  NotFoundError,
  installPolicyFromJSON,
  InstallPolicy,
  BuildStatus,
  type Handlers,
  type AdminServiceService,
  type TargetSummary,
} from '@binhost/shared';
import type { TargetRegistry } from '../registry/target-registry.js';
import { notImplemented } from './not-implemented.js';
import type { EventHub } from '../events/event-hub.js';
import type { PublicationSource } from '../serve/publication-source.js';
import type { ActivityHub } from '../serve/activity-hub.js';
import type { InstallReports } from '../serve/install-reports.js';
import { setInstallPolicy, triggerSync } from '../serve/sync-admin.js';
import { emergeRelay, type EmergeBuilder } from '../serve/emerge-relay.js';
import { diffTarget } from './diff-target.js';

/** What the admin service needs from the rest of the host. */
export interface AdminServiceDeps {
  registry: TargetRegistry;
  publishedSnapshotId(target: string): number;
  hub: EventHub;
  publications: PublicationSource;
  activity: ActivityHub;
  installs: InstallReports;
  /** The build step of Emerge; undefined until the host has a build queue. */
  builder: EmergeBuilder | undefined;
}

/** The summary line `binhostctl targets` and `status` show for one target. */
export function summarize(deps: AdminServiceDeps, name: string): TargetSummary {
  const r = deps.registry.get(name);
  return {
    name,
    connected: deps.registry.isConnected(name),
    lastSeen: r.lastSeen ? new Date(r.lastSeen) : undefined,
    configDigest: deps.registry.currentDigest(name) ?? '',
    builtDigest: deps.publications.builtDigest(name),
    publishedSnapshotId: deps.publishedSnapshotId(name),
    installedSnapshotId: r.installedSnapshotId,
    lastError: r.lastError,
    installPolicy: r.installPolicy ? installPolicyFromJSON(`INSTALL_POLICY_${r.installPolicy.toUpperCase()}`) : InstallPolicy.INSTALL_POLICY_UNSPECIFIED,
    root: r.root ?? '',
    sharesRootWith: [],
    lastBuildStatus: BuildStatus.BUILD_STATUS_UNSPECIFIED,
    hostname: r.hostname,
  };
}

/** AdminService handlers; the adapter has already required an admin certificate. */
export function adminServiceHandlers(deps: AdminServiceDeps): Handlers<typeof AdminServiceService> {
  const { registry } = deps;
  return {
    async listTargets() {
      return { targets: registry.names().map((n) => summarize(deps, n)) };
    },
    async getTarget(req) {
      if (!registry.has(req.name)) throw new NotFoundError(`no target named "${req.name}"`);
      return {
        summary: summarize(deps, req.name),
        state: await registry.store.readState(req.name),
        applied: undefined,
        history: await registry.store.readHistory(req.name),
        lastInstall: await deps.installs.last(req.name),
      };
    },
    diffTarget: (req) => diffTarget(deps, req),
    async addTarget() {
      throw notImplemented('AddTarget');
    },
    async removeTarget(req) {
      await registry.remove(req.name);
      return {};
    },
    async setInstallPolicy(req) {
      await setInstallPolicy(deps, req);
      return {};
    },
    async listBuilds() {
      throw notImplemented('ListBuilds');
    },
    async triggerBuild() {
      throw notImplemented('TriggerBuild');
    },
    async cancelBuild() {
      throw notImplemented('CancelBuild');
    },
    async *followBuildLog() {
      throw notImplemented('FollowBuildLog');
    },
    async listSnapshots() {
      throw notImplemented('ListSnapshots');
    },
    async publishSnapshot() {
      throw notImplemented('PublishSnapshot');
    },
    triggerSync: async (req) => triggerSync(deps, req),
    emerge: (req, ctx) => emergeRelay(deps, req, ctx.signal),
    async getSigningKey() {
      throw notImplemented('GetSigningKey');
    },
  };
}
