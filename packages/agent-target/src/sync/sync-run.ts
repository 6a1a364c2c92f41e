import {
  errorMessage,
  explainEmergeFailure,
  InstallOutcome,
  type InstallPlan,
  type InstallResult,
  type Logger,
  type Snapshot,
  type SyncRequest,
} from '@binhost/shared';
import type { InstallPolicyName } from '@binhost/shared';
import type { Mirror } from '../mirror/mirror.js';
import type { MirrorStore } from '../mirror/mirror-store.js';
import type { Installer } from '../install/installer.js';
import type { ActivityStream } from './activity-stream.js';

/** Everything one sync run uses. */
export interface SyncRunDeps {
  mirror: Mirror;
  store: MirrorStore;
  installer: Installer;
  log: Logger;
  /** The target's current state digest, for the drift check; undefined skips the check. */
  currentDigest: (() => Promise<string>) | undefined;
  /**
   * Makes sure the host holds the target's current state before a drift refusal is reported:
   * the host names the differing files from the two states it holds.
   */
  syncState: (() => Promise<void>) | undefined;
  /**
   * Why the install of `snapshot` waits (repos.skew_policy = "hold": the target's ebuild tree is
   * older than the snapshot's), or '' to go on; undefined never holds.
   */
  holdReason?: ((snapshot: Snapshot) => Promise<string>) | undefined;
}

/** Lines of emerge output sent with an install report. */
const REPORT_TAIL = 40;
/** Lines kept to explain a failure (a signature refusal block is ≈ 40 lines, plus the elog summary). */
const FAILURE_CONTEXT = 300;

/**
 * One sync: mirror the snapshot, refuse on config drift, hold on repository skew, plan, apply the policy, install. Each
 * step that fails ends the run with an {@link InstallResult} saying why; the previous install and
 * the previously served index stay as they were unless the install succeeded.
 */
export async function runSync(
  deps: SyncRunDeps,
  req: SyncRequest,
  policy: InstallPolicyName,
  activity: ActivityStream,
  signal: AbortSignal,
): Promise<InstallResult> {
  const tail: string[] = [];
  const recent: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > REPORT_TAIL) tail.shift();
    recent.push(line);
    if (recent.length > FAILURE_CONTEXT) recent.shift();
    activity.send({ $case: 'logLine', value: line });
  };
  const result = (outcome: InstallOutcome, extra: Partial<InstallResult> = {}): InstallResult => ({
    requestId: req.requestId,
    snapshotId: req.snapshotId,
    outcome,
    plan: undefined,
    exitCode: 0,
    logTail: [...tail],
    error: '',
    differingFiles: [],
    finishedAt: new Date(),
    ...extra,
  });
  if (policy === 'off' && !req.confirmed) return result(InstallOutcome.INSTALL_OUTCOME_SKIPPED_POLICY, { error: 'install policy is off' });

  activity.send({ $case: 'stage', value: 'mirroring' });
  let snapshotId = req.snapshotId;
  let builtDigest = '';
  let snapshot: Snapshot;
  try {
    const { mirrored } = await deps.mirror.sync(req.snapshotId, signal, (p) => activity.send({ $case: 'transfer', value: p }));
    snapshot = mirrored.snapshot;
    snapshotId = snapshot.id;
    builtDigest = snapshot.builtDigest;
  } catch (err) {
    return result(InstallOutcome.INSTALL_OUTCOME_MIRROR_FAILED, { error: errorMessage(err) });
  }
  const done = (outcome: InstallOutcome, extra: Partial<InstallResult> = {}) => result(outcome, { snapshotId, ...extra });

  if (deps.currentDigest && builtDigest) {
    const current = await deps.currentDigest();
    if (current !== builtDigest) {
      await deps.syncState?.().catch((err: unknown) => deps.log.warn({ err: errorMessage(err) }, 'could not report the current state'));
      return done(InstallOutcome.INSTALL_OUTCOME_REFUSED_DRIFT, {
        error: `the target's config (${current}) differs from the config snapshot ${snapshotId} was built from (${builtDigest}); rebuild first`,
      });
    }
  }

  // an admin's `sync --yes` installs anyway: confirming is the decision the hold waits for
  const held = req.confirmed ? '' : ((await deps.holdReason?.(snapshot)) ?? '');
  if (held) return done(InstallOutcome.INSTALL_OUTCOME_HELD, { error: held });

  activity.send({ $case: 'stage', value: 'planning' });
  const { plan, result: pretend } = await deps.installer.plan(snapshotId, req.args, onLine, signal);
  activity.send({ $case: 'plan', value: plan });
  if (pretend.exitCode === 0 && plan.packages.length === 0) {
    await deps.store.markInstalled(snapshotId);
    return done(InstallOutcome.INSTALL_OUTCOME_UP_TO_DATE, { plan });
  }
  if (!plan.binaryOnly) {
    return done(InstallOutcome.INSTALL_OUTCOME_FAILED, { plan, exitCode: pretend.exitCode ?? -1, error: explainEmergeFailure(recent) ?? planError(plan) });
  }
  if (policy === 'confirm' && !req.confirmed) return done(InstallOutcome.INSTALL_OUTCOME_AWAITING_CONFIRMATION, { plan });

  activity.send({ $case: 'stage', value: 'installing' });
  recent.length = 0;
  // not aborted on agent shutdown: stopping half-way through a merge is what must never happen
  const run = await deps.installer.install(req.args, onLine, new AbortController().signal);
  if (run.exitCode !== 0) {
    return done(InstallOutcome.INSTALL_OUTCOME_FAILED, {
      plan,
      exitCode: run.exitCode ?? -1,
      error: explainEmergeFailure(recent) ?? `emerge exited with ${run.exitCode ?? run.signal}`,
    });
  }
  await deps.store.markInstalled(snapshotId);
  const gc = await deps.store.collectGarbage();
  deps.log.info({ snapshotId, ...gc }, 'snapshot installed');
  return done(InstallOutcome.INSTALL_OUTCOME_INSTALLED, { plan });
}

function planError(plan: InstallPlan): string {
  if (plan.problems.length) return `emerge cannot install this from binary packages: ${plan.problems.join('; ')}`;
  const source = plan.packages.filter((p) => p.kind !== 'binary').map((p) => `${p.kind} ${p.cpv}`);
  return `the plan is not binary only (${source.join(', ')}); build these on the host first`;
}
