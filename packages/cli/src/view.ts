/**
 * The one view layer of `binhostctl`: what each command shows, as plain objects. `--json` prints
 * these (wrapped by {@link jsonDocument}) and the text output is made from the same words, so
 * `succeeded` in a table is `"succeeded"` in JSON.
 *
 * The JSON is an interface (README, "binhostctl --json"): every key is always present, with its
 * default value when unset (`""`, `0`, `false`, `[]`, `null` for an absent time or object); enums
 * are the lowercase words of the text output; times are ISO 8601 strings; byte counts are
 * numbers. {@link JSON_VERSION} changes only when a key is removed or changes meaning; new keys
 * may appear within a version. The generated `toJSON` is not used for this: it leaves out
 * default values and spells enums `BUILD_STATUS_SUCCEEDED`.
 */
import {
  buildKindToJSON,
  buildStatusToJSON,
  fileChangeToJSON,
  installOutcomeToJSON,
  installPolicyToJSON,
  type AddTargetResponse,
  type AppliedConfig,
  type Build,
  type DiffTargetResponse,
  type DigestRecord,
  type InstallPlan,
  type InstallResult,
  type MarchSummary,
  type NativeFlags,
  type RemoveTargetResponse,
  type RootDiskUsage,
  type RootGarbageResult,
  type Snapshot,
  type TargetSummary,
  type TransferProgress,
} from '@binhost/shared';
import { adminFlags } from './commands/march-view.js';

/** The version of the `--json` interface; every document carries it as `version`. */
export const JSON_VERSION = 1;

/** The top-level object every `--json` document is: `{"version": 1, ...fields}`. */
export function jsonDocument(fields: Record<string, unknown>): Record<string, unknown> {
  return { version: JSON_VERSION, ...fields };
}

/** `BUILD_STATUS_SUCCEEDED` → `succeeded` (a generated enum name without its prefix). */
function enumWord(name: string, prefix: string, unspecified: string): string {
  const word = name.startsWith(prefix) ? name.slice(prefix.length).toLowerCase() : 'unknown';
  return word === 'unspecified' ? unspecified : word;
}

/** `queued`, `running`, `succeeded`, `failed`, `cancelled`, `interrupted` (`unknown` for none). */
export const buildStatusWord = (s: Build['status']): string => enumWord(buildStatusToJSON(s), 'BUILD_STATUS_', 'unknown');
/** `auto` or `manual`. */
export const buildKindWord = (k: Build['kind']): string => enumWord(buildKindToJSON(k), 'BUILD_KIND_', 'unknown');
/** `auto`, `confirm`, `off`, or `default` (the target's own `install.policy` applies). */
export const policyWord = (p: TargetSummary['installPolicy']): string => enumWord(installPolicyToJSON(p), 'INSTALL_POLICY_', 'default');
/** `installed`, `up_to_date`, `awaiting_confirmation`, `failed`, `refused_drift`, `held`, … */
export const outcomeWord = (o: InstallResult['outcome']): string => enumWord(installOutcomeToJSON(o), 'INSTALL_OUTCOME_', 'unknown');
/** `added`, `removed`, `modified`. */
const changeWord = (c: DiffTargetResponse['files'][number]['change']): string => enumWord(fileChangeToJSON(c), 'FILE_CHANGE_', 'unknown');

const time = (d: Date | undefined): string | null => d?.toISOString() ?? null;

/** One target, as `status`, `targets` and `target show` list it. */
export function targetView(t: TargetSummary) {
  return {
    name: t.name,
    connected: t.connected,
    hostname: t.hostname,
    lastSeen: time(t.lastSeen),
    configDigest: t.configDigest,
    builtDigest: t.builtDigest,
    /** The published snapshot was built from another config than the one reported last. */
    stale: t.builtDigest !== '' && t.builtDigest !== t.configDigest,
    publishedSnapshotId: t.publishedSnapshotId,
    installedSnapshotId: t.installedSnapshotId,
    installPolicy: policyWord(t.installPolicy),
    lastBuildStatus: buildStatusWord(t.lastBuildStatus),
    lastError: t.lastError,
    root: t.root,
    sharesRootWith: [...t.sharesRootWith],
    queuedSync: t.queuedSyncRequestId ? { requestId: t.queuedSyncRequestId, confirmed: t.queuedSyncConfirmed } : null,
    damaged: t.damaged.map((d) => ({ file: d.file, problem: d.problem, remedy: d.remedy })),
    repoSkew: t.repoSkew,
    /** Under the confirm policy, a plan waiting for `sync NAME --yes`. */
    awaitingConfirmation: t.awaitingConfirmationSnapshotId ? { snapshotId: t.awaitingConfirmationSnapshotId, packages: t.awaitingConfirmationPackages } : null,
  };
}

/** One build, as `builds`, `build`, `cancel` and `logs` show it. */
export function buildView(b: Build) {
  return {
    id: b.id,
    target: b.target,
    root: b.root,
    kind: buildKindWord(b.kind),
    status: buildStatusWord(b.status),
    args: [...b.args],
    configDigest: b.configDigest,
    queuedAt: time(b.queuedAt),
    startedAt: time(b.startedAt),
    finishedAt: time(b.finishedAt),
    exitCode: b.exitCode,
    error: b.error,
    logTail: [...b.logTail],
    snapshotId: b.snapshotId,
    progress: { currentPackage: b.currentPackage, packageIndex: b.packageIndex, packageCount: b.packageCount, phase: b.phase },
    packages: b.packages.map((p) => ({
      cpv: p.cpv,
      forRoot: p.forRoot,
      seconds: p.seconds,
      cpuSeconds: p.cpuSeconds,
      peakMemoryBytes: Number(p.peakMemoryBytes),
      source: p.source,
    })),
    distcc: b.distcc
      ? {
          hosts: b.distcc.hosts,
          makeJobs: b.distcc.makeJobs,
          pump: b.distcc.pump,
          helpers: b.distcc.helpers.map((h) => ({ host: h.host, jobs: h.jobs })),
          localJobs: b.distcc.localJobs,
          fallbackJobs: b.distcc.fallbackJobs,
          problems: b.distcc.problems.map((p) => ({ host: p.host, reason: p.reason, count: p.count })),
        }
      : null,
  };
}

/** One kept snapshot of a root. */
export function snapshotView(s: Snapshot) {
  return {
    id: s.id,
    root: s.root,
    buildId: s.buildId,
    builtDigest: s.builtDigest,
    createdAt: time(s.createdAt),
    packageCount: s.packageCount,
    totalBytes: Number(s.totalBytes),
  };
}

/** A digest of the target's history and when it was reported. */
export function digestView(h: DigestRecord) {
  return { digest: h.digest, reportedAt: time(h.reportedAt) };
}

/** The target's resolved `-march=native`. */
export function nativeFlagsView(nf: NativeFlags | undefined) {
  return {
    known: nf?.known ?? false,
    march: nf?.march ?? '',
    mtune: nf?.mtune ?? '',
    featureFlags: [...(nf?.featureFlags ?? [])],
    params: [...(nf?.params ?? [])],
    compiler: nf?.compiler ?? '',
    error: nf?.error ?? '',
  };
}

/** The resolved `-march=native` as an admin would write it (`flags`), by the host's compiler. */
export function marchView(m: MarchSummary) {
  return {
    flags: adminFlags(m), march: m.march, mtune: m.mtune, differingFlags: [...m.differingFlags], impliedCount: m.impliedCount, compiler: m.compiler, error: m.error };
}

/** The config applied in the target's root, with the host's rewrites. */
export function appliedView(a: AppliedConfig) {
  return {
    root: a.root,
    digest: a.digest,
    appliedAt: time(a.appliedAt),
    makeConf: a.makeConf,
    rewrites: a.rewrites.map((r) => ({ file: r.file, key: r.key, before: r.before, after: r.after, reason: r.reason })),
    warnings: [...a.warnings],
  };
}

/** What changed between two states of a target. */
export function diffView(res: DiffTargetResponse) {
  return {
    fromDigest: res.fromDigest,
    toDigest: res.toDigest,
    files: res.files.map((f) => ({ path: f.path, change: changeWord(f.change), unifiedDiff: f.unifiedDiff })),
    worldAdded: [...res.worldAdded],
    worldRemoved: [...res.worldRemoved],
    flagsAdded: [...res.flagsAdded],
    flagsRemoved: [...res.flagsRemoved],
    cpuFlagsAdded: [...res.cpuFlagsAdded],
    cpuFlagsRemoved: [...res.cpuFlagsRemoved],
    profileBefore: res.profileBefore,
    profileAfter: res.profileAfter,
  };
}

/** What `target add` created. */
export function addView(name: string, res: AddTargetResponse) {
  return { name, rootPath: res.rootPath, entriesExtracted: res.entriesExtracted, disabledBinhosts: [...res.disabledBinhosts] };
}

/** What `target remove` removed and kept. */
export function removeView(name: string, res: RemoveTargetResponse) {
  return {
    name,
    root: res.root,
    rootRemoved: res.rootRemoved,
    sharedWith: [...res.sharedWith],
    cancelledBuilds: [...res.cancelledBuilds],
    ownRoot: res.ownRoot,
    ownRootRemoved: res.ownRootRemoved,
  };
}

/** An install plan, as the target made it. */
export function planView(p: InstallPlan) {
  return {
    snapshotId: p.snapshotId,
    args: [...p.args],
    binaryOnly: p.binaryOnly,
    packages: p.packages.map((k) => ({ kind: k.kind, flags: k.flags, cpv: k.cpv, buildId: k.buildId, line: k.line })),
    problems: [...p.problems],
  };
}

/** The result of an install on a target. */
export function installView(r: InstallResult) {
  return {
    requestId: r.requestId,
    snapshotId: r.snapshotId,
    outcome: outcomeWord(r.outcome),
    plan: r.plan ? planView(r.plan) : null,
    exitCode: r.exitCode,
    error: r.error,
    logTail: [...r.logTail],
    differingFiles: [...r.differingFiles],
    finishedAt: time(r.finishedAt),
  };
}

/** Transfer progress of a target's mirror. */
export function transferView(p: TransferProgress) {
  return { path: p.path, bytesDone: Number(p.bytesDone), bytesTotal: Number(p.bytesTotal), filesDone: p.filesDone, filesTotal: p.filesTotal };
}

/** Disk use of one root (`df`). */
export function diskUsageView(u: RootDiskUsage) {
  return {
    root: u.root,
    targets: [...u.targets],
    pkgdirBytes: Number(u.pkgdirBytes),
    snapshotsBytes: Number(u.snapshotsBytes),
    buildLogsBytes: Number(u.buildLogsBytes),
    reclaimableBytes: Number(u.reclaimableBytes),
    instances: u.instances,
    removableInstances: u.removableInstances,
    snapshots: u.snapshots,
    removableSnapshots: u.removableSnapshots,
    builds: u.builds,
    removableBuilds: u.removableBuilds,
  };
}

/** What retention did (or would do) in one root (`gc`). */
export function garbageView(r: RootGarbageResult) {
  return {
    root: r.root,
    freedBytes: Number(r.freedBytes),
    removedInstances: [...r.removedInstances],
    removedSnapshots: [...r.removedSnapshots],
    removedBuilds: [...r.removedBuilds],
    skipped: r.skipped,
  };
}
