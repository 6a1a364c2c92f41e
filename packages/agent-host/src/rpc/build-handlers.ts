import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  BuildStatus,
  errnoCode,
  NotFoundError,
  type Build,
  type CancelBuildRequest,
  type CancelBuildResponse,
  type FollowBuildLogRequest,
  type FollowBuildLogResponse,
  type ListBuildsRequest,
  type ListBuildsResponse,
  type ListSnapshotsRequest,
  type ListSnapshotsResponse,
  type PublishSnapshotRequest,
  type PublishSnapshotResponse,
  type TriggerBuildRequest,
  type TriggerBuildResponse,
} from '@binhost/shared';
import type { BuildSystem } from '../build/build-system.js';
import type { TargetRegistry } from '../registry/target-registry.js';

/** What the build RPCs need. */
export interface BuildHandlerDeps {
  registry: TargetRegistry;
  builds: BuildSystem;
}

/** AdminService.ListBuilds */
export async function listBuilds(deps: BuildHandlerDeps, req: ListBuildsRequest): Promise<ListBuildsResponse> {
  if (req.target) deps.registry.get(req.target);
  return { builds: deps.builds.list(req.target || undefined, req.limit) };
}

/** AdminService.TriggerBuild: a manual build with the user's arguments, or an automatic one. */
export async function triggerBuild(deps: BuildHandlerDeps, req: TriggerBuildRequest): Promise<TriggerBuildResponse> {
  return { build: await deps.builds.trigger(req.target, req.args, { reinstallRebuilt: req.reinstallRebuilt }) };
}

/** AdminService.CancelBuild: 0 cancels the running (or else the next queued) build. */
export async function cancelBuild(deps: BuildHandlerDeps, req: CancelBuildRequest): Promise<CancelBuildResponse> {
  deps.registry.get(req.target);
  return { build: await deps.builds.queue.cancel(deps.builds.rootOf(req.target), req.buildId, 'cancelled by an admin') };
}

/** AdminService.ListSnapshots */
export async function listSnapshots(deps: BuildHandlerDeps, req: ListSnapshotsRequest): Promise<ListSnapshotsResponse> {
  deps.registry.get(req.target);
  const { snapshots } = deps.builds;
  return { snapshots: await snapshots.list(deps.builds.rootOf(req.target)), publishedSnapshotId: snapshots.publishedId(req.target) };
}

/** AdminService.PublishSnapshot: rollback (or roll forward) to a kept snapshot. */
export async function publishSnapshot(deps: BuildHandlerDeps, req: PublishSnapshotRequest): Promise<PublishSnapshotResponse> {
  const snapshot = await deps.builds.publish(req.target, req.snapshotId);
  // A rollback (or roll forward) to a kept, good snapshot ends what the last error described (a
  // failed build or install of another snapshot): the target is served this one now.
  if (deps.registry.get(req.target).lastError) await deps.registry.update(req.target, (r) => (r.lastError = ''));
  return { snapshot };
}

/**
 * AdminService.FollowBuildLog: the build first, then its log lines; with `follow`, new lines as
 * emerge writes them; then, once the build has ended, the finished build. A live follower reads
 * exactly the lines written before it subscribed from the file and the rest from its queue, so
 * no line is lost or repeated.
 */
export async function* followBuildLog(deps: BuildHandlerDeps, req: FollowBuildLogRequest, signal: AbortSignal): AsyncGenerator<FollowBuildLogResponse> {
  deps.registry.get(req.target);
  const { store, queue } = deps.builds;
  const root = deps.builds.rootOf(req.target);
  const build = req.buildId ? store.get(root, req.buildId) : store.list(root)[0];
  if (!build) throw new NotFoundError(req.buildId ? `target "${req.target}" has no build ${req.buildId}` : `target "${req.target}" has no builds`);
  yield { item: { $case: 'build', value: build } };
  if (req.follow && build.status === BuildStatus.BUILD_STATUS_QUEUED) await started(deps.builds, build, signal);
  const live = req.follow ? queue.liveLog(root, build.id) : undefined;
  if (!live) {
    for await (const line of readLines(store.logFile(root, build.id), Infinity)) yield { item: { $case: 'line', value: line } };
    if (isEnded(build)) yield { item: { $case: 'finished', value: build } };
    return;
  }
  const sub = live.subscribe();
  try {
    for await (const line of readLines(live.file, sub.linesBefore)) yield { item: { $case: 'line', value: line } };
    for await (const line of sub.queue.drain(signal)) yield { item: { $case: 'line', value: line } };
  } finally {
    sub.unsubscribe();
  }
  if (!signal.aborted) yield { item: { $case: 'finished', value: build } };
}

function isEnded(build: Build): boolean {
  return build.status !== BuildStatus.BUILD_STATUS_QUEUED && build.status !== BuildStatus.BUILD_STATUS_RUNNING;
}

/** Waits until a queued build starts (or ends without starting, or the call ends). */
function started(builds: BuildSystem, build: Build, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (b: Build) => {
      if (b !== build) return;
      cleanup();
      resolve();
    };
    const cleanup = () => {
      builds.queue.off('started', done);
      builds.queue.off('finished', done);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      resolve();
    };
    builds.queue.on('started', done);
    builds.queue.on('finished', done);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The first `max` lines of a log file (none when it does not exist yet). */
async function* readLines(file: string, max: number): AsyncGenerator<string> {
  if (max <= 0) return;
  const input = createReadStream(file, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of rl) {
      yield line;
      if (++n >= max) return;
    }
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  } finally {
    rl.close();
    input.destroy();
  }
}
