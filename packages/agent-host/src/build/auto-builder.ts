import { access } from 'node:fs/promises';
import { BuildKind, BuildStatus, type AppliedConfig, type Build, type Logger, type TargetState } from '@binhost/shared';
import type { TargetRegistry, StateChange } from '../registry/target-registry.js';
import type { EventHub } from '../events/event-hub.js';
import type { HostLayout } from '../layout.js';
import type { BuildQueue } from './build-queue.js';

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
}

/** The root a target builds in: its record's, or one named after it. */
export function rootOf(registry: TargetRegistry, target: string): string {
  return registry.has(target) ? (registry.get(target).root ?? target) : target;
}

/**
 * The automatic loop: a state report with a new digest → apply it to the target's root → build
 * `config.build.autoArgs` → publish (the queue's publish step). An automatic build made
 * obsolete by the new state is cancelled first; reports during a build coalesce into one
 * follow-up. Failures (refusal, apply, emerge) leave the published snapshot alone, are recorded
 * as the target's lastError and sent to the target as build_finished with the error and log tail.
 */
export class AutoBuilder {
  private readonly onState = (change: StateChange): void => {
    void this.handle(change).catch((err: unknown) => this.options.log.error({ err, target: change.target }, 'automatic build not queued'));
  };
  private readonly onQueued = (b: Build): void => void this.options.hub.publish(b.target, { $case: 'buildQueued', value: { ...b } });
  private readonly onStarted = (b: Build): void => void this.options.hub.publish(b.target, { $case: 'buildStarted', value: { ...b } });
  private readonly onFinished = (b: Build): void => {
    void this.finished(b).catch((err: unknown) => this.options.log.error({ err, target: b.target }, 'build result not recorded'));
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

  stop(): void {
    const { registry, queue } = this.options;
    registry.off('state', this.onState);
    queue.off('queued', this.onQueued);
    queue.off('started', this.onStarted);
    queue.off('finished', this.onFinished);
  }

  /** Queues the automatic build of `target` (also what a state change does). */
  async handle(change: StateChange): Promise<Build | undefined> {
    const { registry, queue, log } = this.options;
    const { target, state } = change;
    const root = rootOf(registry, target);
    const native = state.nativeFlags;
    if (!native?.known) {
      const why = `not built: the target's -march=native is unknown (${native?.error || 'no compiler output'}); building would use the host's CPU`;
      return this.refuse(target, why);
    }
    if (!(await exists(this.options.layout.rootDir(root)))) {
      return this.refuse(target, `not built: root "${root}" does not exist; create it with: binhostctl target add ${target} --stage3 FILE|URL`);
    }
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
