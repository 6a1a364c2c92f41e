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
import { diffTarget } from './diff-target.js';
import type { RootManager } from '../root/root-manager.js';
import type { HostLayout } from '../layout.js';
import { addTarget } from './add-target.js';

/** What the admin service needs from the rest of the host. */
export interface AdminServiceDeps {
  registry: TargetRegistry;
  publishedSnapshotId(target: string): number;
  /** The binhost roots (create from a stage3, apply, applied config). */
  roots: RootManager;
  layout: HostLayout;
}

/** The summary line `binhostctl targets` and `status` show for one target. */
export function summarize(deps: AdminServiceDeps, name: string): TargetSummary {
  const r = deps.registry.get(name);
  return {
    name,
    connected: deps.registry.isConnected(name),
    lastSeen: r.lastSeen ? new Date(r.lastSeen) : undefined,
    configDigest: deps.registry.currentDigest(name) ?? '',
    builtDigest: '',
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

/** The config last applied to the target's root, if it has one. */
async function readAppliedOf(deps: AdminServiceDeps, name: string) {
  const root = deps.registry.get(name).root;
  return root ? deps.roots.readApplied(root) : undefined;
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
        applied: await readAppliedOf(deps, req.name),
        history: await registry.store.readHistory(req.name),
        lastInstall: undefined,
      };
    },
    diffTarget: (req) => diffTarget(deps, req),
    addTarget: (requests, ctx) => addTarget({ ...deps, summarize: (n) => summarize(deps, n) }, requests, ctx),
    async removeTarget(req) {
      await registry.remove(req.name);
      return {};
    },
    async setInstallPolicy() {
      throw notImplemented('SetInstallPolicy');
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
    async triggerSync() {
      throw notImplemented('TriggerSync');
    },
    async *emerge() {
      throw notImplemented('Emerge');
    },
    async getSigningKey() {
      throw notImplemented('GetSigningKey');
    },
  };
}
