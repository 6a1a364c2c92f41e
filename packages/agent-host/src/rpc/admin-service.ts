import {
  describeSkew,
  NotFoundError,
  installPolicyFromJSON,
  InstallPolicy,
  BuildStatus,
  type Handlers,
  type AdminServiceService,
  type TargetSummary,
  type Logger,
  type MarchSummary,
  type NativeFlags,
} from '@binhost/shared';
import type { TargetRegistry } from '../registry/target-registry.js';
import { rootCreated } from '../registry/created-root.js';
import type { EventHub } from '../events/event-hub.js';
import type { PublicationSource } from '../delivery/publication-source.js';
import type { ActivityHub } from '../delivery/activity-hub.js';
import type { InstallReports } from '../delivery/install-reports.js';
import { requestSync, setInstallPolicy } from './sync-admin.js';
import { emergeRelay, type EmergeBuilder } from './emerge-relay.js';
import { diffTarget } from './diff-target.js';
import type { RootManager } from '../root/root-manager.js';
import type { HostLayout } from '../layout.js';
import { addTarget } from './add-target.js';
import { removeTarget } from '../registry/remove-target.js';
import { parseQueuedSync } from '../delivery/sync-queue.js';
import type { BuildSystem } from '../build/build-system.js';
import { cancelBuild, followBuildLog, listBuilds, listSnapshots, publishSnapshot, triggerBuild } from './build-handlers.js';
import { DamagedRecordError } from '../registry/damaged-records.js';
import { collectGarbage, getDiskUsage } from './gc-handlers.js';

/** What the admin service needs from the rest of the host. */
export interface AdminServiceDeps {
  registry: TargetRegistry;
  publishedSnapshotId(target: string): number;
  /** The binhost roots (create from a stage3, apply, applied config). */
  roots: RootManager;
  layout: HostLayout;
  builds: BuildSystem;
  hub: EventHub;
  publications: PublicationSource;
  activity: ActivityHub;
  installs: InstallReports;
  /** The build step of Emerge; undefined until the host has a build queue. */
  builder: EmergeBuilder | undefined;
  /** Where admin actions that change the host's state are logged (a target removed). */
  log?: Logger;
  /** `-march=X` and the flags it does not imply, by the host's compiler (march-summary.ts). */
  marchSummary?: (nf: NativeFlags) => Promise<MarchSummary | undefined>;
}

/** The summary line `binhostctl targets` and `status` show for one target. */
function summarize(deps: AdminServiceDeps, name: string, roots = targetRoots(deps)): TargetSummary {
  const r = deps.registry.get(name);
  const root = roots.get(name);
  const queued = parseQueuedSync(r.pendingSync);
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
    root: root ?? '',
    sharesRootWith: root ? [...roots].filter(([o, r]) => o !== name && r === root).map(([o]) => o) : [],
    lastBuildStatus: deps.builds.list(name, 1)[0]?.status ?? BuildStatus.BUILD_STATUS_UNSPECIFIED,
    hostname: r.hostname,
    queuedSyncRequestId: queued?.requestId ?? '',
    queuedSyncConfirmed: queued?.confirmed ?? false,
    damaged: damageOf(deps, name).map(({ file, problem, remedy }) => ({ file, problem, remedy })),
    awaitingConfirmationSnapshotId: r.awaitingConfirmation?.snapshotId ?? 0,
    awaitingConfirmationPackages: r.awaitingConfirmation?.packages ?? 0,
    repoSkew: describeSkew(name, deps.publications.publishedSnapshotSync(name)?.repoRevisions ?? [], deps.registry.repoRevisionsOf(name)),
  };
}

/** The damaged records that concern `name`: its own files, and those of the roots it builds in or is served from. */
function damageOf(deps: AdminServiceDeps, name: string): DamagedRecordError[] {
  const roots = [deps.registry.get(name).root, deps.builds.rootOf(name), deps.builds.snapshots.publishedRoot(name)];
  return deps.registry.damage.forTarget(name, roots);
}

/** Runs a read for GetTarget: a damaged file leaves its part out (the summary says why). */
async function unlessDamaged<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof DamagedRecordError) return undefined;
    throw err;
  }
}

/**
 * The root each target builds in (its own, or one it shares), if one was created (`target add`;
 * registry/created-root.ts). Computed for all targets at once, so listing N targets stays O(N²)
 * rather than O(N³).
 */
function targetRoots(deps: AdminServiceDeps): Map<string, string | undefined> {
  const names = deps.registry.names();
  const named = new Set(names.map((t) => deps.registry.get(t).root));
  return new Map(
    names.map((t) => {
      const root = deps.builds.rootOf(t);
      return [t, rootCreated(root, named, deps.layout) ? root : undefined];
    }),
  );
}

/** The config last applied to the target's root, if it has one. */
async function readAppliedOf(deps: AdminServiceDeps, name: string) {
  const root = targetRoots(deps).get(name);
  return root ? deps.roots.readApplied(root) : undefined;
}

/** AdminService handlers; the adapter has already required an admin certificate. */
export function adminServiceHandlers(deps: AdminServiceDeps): Handlers<typeof AdminServiceService> {
  const { registry } = deps;
  return {
    async listTargets() {
      await registry.damage.recheck();
      const roots = targetRoots(deps);
      return { targets: registry.names().map((n) => summarize(deps, n, roots)) };
    },
    async getTarget(req) {
      if (!registry.has(req.name)) throw new NotFoundError(`no target named "${req.name}"`);
      await registry.damage.recheck();
      const state = await unlessDamaged(registry.store.readState(req.name));
      const applied = await unlessDamaged(readAppliedOf(deps, req.name));
      const history = await unlessDamaged(registry.store.readHistory(req.name));
      const lastInstall = await unlessDamaged(deps.installs.last(req.name));
      // last: the reads above mark what they find damaged
      const march = state?.nativeFlags && deps.marchSummary ? await deps.marchSummary(state.nativeFlags) : undefined;
      return { summary: summarize(deps, req.name), state, applied, history: history ?? [], lastInstall, march };
    },
    diffTarget: (req) => diffTarget(deps, req),
    addTarget: (requests, ctx) =>
      addTarget(
        {
          ...deps,
          summarize: (n) => summarize(deps, n),
          requestBuild: (target, state) => deps.builds.auto.handle({ target, state, previousDigest: undefined }),
        },
        requests,
        ctx,
      ),
    removeTarget: (req) => removeTarget(deps, req),
    async setInstallPolicy(req) {
      await setInstallPolicy(deps, req);
      return {};
    },
    listBuilds: (req) => listBuilds(deps, req),
    triggerBuild: (req) => triggerBuild(deps, req),
    cancelBuild: (req) => cancelBuild(deps, req),
    followBuildLog: (req, ctx) => followBuildLog(deps, req, ctx.signal),
    listSnapshots: (req) => listSnapshots(deps, req),
    publishSnapshot: (req) => publishSnapshot(deps, req),
    triggerSync: (req) => requestSync(deps, req),
    emerge: (req, ctx) => emergeRelay(deps, req, ctx.signal),
    getSigningKey: (req) => deps.builds.signingKeyOf(req.target),
    getDiskUsage: (req) => getDiskUsage(deps, req),
    collectGarbage: (req) => collectGarbage(deps, req),
  };
}
