import { access } from 'node:fs/promises';
import { BuildKind, BuildStatus, type AppliedConfig, type Build, type Logger, type TargetState } from '@binhost/shared';
import type { TargetRegistry, StateChange } from '../registry/target-registry.js';
import type { EventHub } from '../events/event-hub.js';
import type { HostLayout } from '../layout.js';
import type { BuildQueue } from './build-queue.js';
import type { BuildStore } from './build-store.js';
import type { SnapshotStore } from '../publish/snapshot-store.js';

/** Writes a target's reported state into its root (RootManager.apply). */
export interface ConfigApplier {
  apply(root: string, state: TargetState): Promise<AppliedConfig>;
}

/** Options for {@link AutoBuilder}. */
export interface AutoBuilderOptions {
  registry: TargetRegistry;
  hub: EventHub;
  queue: BuildQueue;
  layout: HostLayout;
  applier: ConfigApplier;
  /** `config.build.autoArgs` */
  autoArgs: readonly string[];
  log: Logger;
  /** Build history and snapshots, so a target joining a shared root gets its snapshot without a build. */
  store?: BuildStore;
  snapshots?: SnapshotStore;
}

/** The root a target builds in: a shared one (see below), its record's, or one named after it. */
export function rootOf(registry: TargetRegistry, target: string): string {
  const own = registry.has(target) ? registry.get(target).root : undefined;
  const key = registry.currentKey(target);
  if (key) {
    // Targets with the same fingerprint (config digest, resolved flags, profile, CHOST, gcc) would
    // build the same packages: they share the root of the first of them (by name) that has one.
    for (const other of registry.names()) {
      const root = registry.get(other).root;
      if (root && registry.currentKey(other) === key) return root;
    }
  }
  return own ?? target;
}

/**
 * The automatic loop: a state report with a new digest → apply it to the target's root → build
 * `config.build.autoArgs` → publish (the queue's publish step). An automatic build made
 * obsolete by the new state is cancelled first; reports during a build coalesce into one
 * follow-up. Failures (refusal, apply, emerge) leave the published snapshot alone, are recorded
 * as the target's lastError and sent to the target as build_finished with the error and log tail.
 */
export class AutoBuilder {
  /** Handlers still running; stop() waits for them so nothing writes after the host stopped. */
  private readonly inflight = new Set<Promise<unknown>>();
  private stopped = false;
  private readonly onState = (change: StateChange): void => {
    this.track(this.handle(change).catch((err: unknown) => this.options.log.error({ err, target: change.target }, 'automatic build not queued')));
  };
  private readonly onQueued = (b: Build): void => void this.options.hub.publish(b.target, { $case: 'buildQueued', value: { ...b } });
  private readonly onStarted = (b: Build): void => void this.options.hub.publish(b.target, { $case: 'buildStarted', value: { ...b } });
  private readonly onFinished = (b: Build): void => {
    this.track(this.finished(b).catch((err: unknown) => this.options.log.error({ err, target: b.target }, 'build result not recorded')));
  };

  constructor(private readonly options: AutoBuilderOptions) {}

  /** Starts listening to state reports and build events. */
  start(): void {
    const { registry, queue } = this.options;
    registry.on('state', this.onState);
    queue.on('queued', this.onQueued);
    queue.on('started', this.onStarted);
    queue.on('finished', this.onFinished);
  }

  /** Stops listening to state reports; waits for the handlers still running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.options.registry.off('state', this.onState);
    await Promise.all(this.inflight);
  }

  /** Stops listening to build events (after the queue has stopped, so its last results are recorded). */
  async detach(): Promise<void> {
    const { queue } = this.options;
    queue.off('queued', this.onQueued);
    queue.off('started', this.onStarted);
    queue.off('finished', this.onFinished);
    await Promise.all(this.inflight);
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Queues the automatic build of `target` (also what a state change does). */
  async handle(change: StateChange): Promise<Build | undefined> {
    const { registry, queue, log } = this.options;
    const { target, state } = change;
    if (this.stopped) return undefined;
    const root = rootOf(registry, target);
    const native = state.nativeFlags;
    if (!native?.known) {
      const why = `not built: the target's -march=native is unknown (${native?.error || 'no compiler output'}); building would use the host's CPU`;
      return this.refuse(target, why);
    }
    if (!(await exists(this.options.layout.rootDir(root)))) {
      return this.refuse(target, `not built: root "${root}" does not exist; create it with: binhostctl target add ${target} --stage3 FILE|URL`);
    }
    if (await this.joinShared(target, root, state.digest)) return undefined;
    queue.cancelObsolete(root, state.digest);
    const { build, coalesced } = await queue.request({
      target,
      root,
      kind: BuildKind.BUILD_KIND_AUTO,
      args: this.options.autoArgs,
      prepare: () => this.applyLatest(target, root),
    });
    log.info({ target, root, buildId: build.id, coalesced, digest: state.digest }, 'automatic build requested');
    return build;
  }

  /**
   * A target that joins a shared root whose last good build was made from its very config gets
   * that build's snapshot published, with no build of its own.
   */
  private async joinShared(target: string, root: string, digest: string): Promise<boolean> {
    const { store, snapshots, hub, log } = this.options;
    if (!store || !snapshots || root === (this.options.registry.get(target).root ?? target)) return false;
    const last = store.list(root).find((b) => b.status === BuildStatus.BUILD_STATUS_SUCCEEDED && b.snapshotId > 0);
    if (!last || last.configDigest !== digest) return false;
    if (snapshots.publishedId(target) === last.snapshotId && snapshots.publishedRoot(target) === root) return true;
    const snapshot = await snapshots.publish(target, root, last.snapshotId);
    await this.options.registry.update(target, (r) => (r.lastError = ''));
    hub.publish(target, { $case: 'snapshotPublished', value: snapshot });
    log.info({ target, root, snapshotId: snapshot.id }, 'joined a shared root');
    return true;
  }

  /** Applies the target's latest stored state (not the one that queued the build: it may be newer). */
  private async applyLatest(target: string, root: string): Promise<string> {
    const state = await this.options.registry.store.readState(target);
    if (!state) throw new Error(`no state stored for target "${target}"`);
    await this.options.applier.apply(root, state);
    return state.digest;
  }

  private async refuse(target: string, why: string): Promise<undefined> {
    this.options.log.warn({ target, why }, 'build refused');
    await this.options.registry.update(target, (r) => (r.lastError = why));
    return undefined;
  }

  private async finished(build: Build): Promise<void> {
    const { registry, hub } = this.options;
    hub.publish(build.target, { $case: 'buildFinished', value: { ...build } });
    // A build cancelled because a newer config superseded it is not a failure of the target's.
    if (build.status === BuildStatus.BUILD_STATUS_CANCELLED || build.status === BuildStatus.BUILD_STATUS_INTERRUPTED) return;
    if (!registry.has(build.target)) return;
    // a good build whose snapshot this target was refused (repos.skew_policy = "refuse"): the refusal is what it needs to read
    const snapshots = this.options.snapshots;
    if (build.status === BuildStatus.BUILD_STATUS_SUCCEEDED && snapshots && build.snapshotId > 0 && snapshots.publishedId(build.target) !== build.snapshotId) return;
    const lastError = build.status === BuildStatus.BUILD_STATUS_SUCCEEDED ? '' : `build ${build.id} failed: ${build.error}`;
    await registry.update(build.target, (r) => (r.lastError = lastError));
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
