import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { Build, BuildKind, BuildStatus, errorMessage, NotFoundError, type Logger } from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import type { BuildStore } from './build-store.js';
import { BuildLogWriter } from './build-log.js';
import type { EmergeOutcome } from './emerge-build.js';
import { runBuildEmerge } from './build-emerge.js';
import type { ProcessLauncher } from './emerge-process.js';
import { verdictOf } from './build-outcome.js';

/** A request for a build in a root. */
export interface BuildRequest {
  target: string;
  root: string;
  kind: BuildKind;
  /** Arguments after `--buildpkg --root-deps`. */
  args: readonly string[];
  /**
   * Runs when the build starts, before emerge (automatic builds apply the target's latest state
   * here); resolves to the config digest the build uses. Throwing fails the build.
   */
  prepare?: () => Promise<string>;
  /** The digest recorded when there is no `prepare` (the config already applied). */
  configDigest?: string;
}

/** Options for {@link BuildQueue}. */
export interface BuildQueueOptions {
  layout: HostLayout;
  store: BuildStore;
  launcher: ProcessLauncher;
  /** `config.build.emerge`. */
  command: readonly string[];
  /** Milliseconds between SIGTERM and SIGKILL on cancel (`config.build.cancelGraceSeconds`). */
  graceMs: number;
  /** Extra environment for emerge in `root` (signing, temp and distfiles dirs); read at each build start. */
  env(root: string): Promise<Record<string, string>>;
  /** Wraps emerge's argv for a build in `root` (the sandbox); absent: emerge runs as it is. */
  wrap?(root: string, argv: string[]): Promise<string[]>;
  /** Where a build of `root` publishes Portage's observability socket, if the host can see it. */
  observe?(root: string): string | undefined;
  /**
   * Runs once emerge has ended (not when it could not start), before the verdict: adds what the
   * build's tools recorded on the side (the distcc figures) to the record and the log.
   */
  afterEmerge?(build: Build, log: BuildLogWriter): Promise<void>;
  /** Publishes a succeeded build; resolves to the snapshot id. Throwing fails the build. */
  publish(build: Build): Promise<number>;
  log: Logger;
}

interface Job {
  build: Build;
  request: BuildRequest;
  cancel: AbortController;
  cancelReason: string;
  writer?: BuildLogWriter;
}

interface RootQueue {
  running: Job | undefined;
  waiting: Job[];
}

/** Events: a build changed; the Build is the live record (copy before keeping). */
export type BuildQueueEvents = { queued: [Build]; started: [Build]; progress: [Build]; finished: [Build] };

/**
 * One emerge per root at a time. Requests that arrive while a root is busy wait, and coalesce:
 * automatic requests into the one waiting automatic build, manual ones with equal arguments into
 * that one, so a burst of config changes during a build gives exactly one follow-up build.
 */
export class BuildQueue extends EventEmitter<BuildQueueEvents> {
  private readonly roots = new Map<string, RootQueue>();
  private stopped = false;

  constructor(private readonly options: BuildQueueOptions) {
    super();
  }

  /** Queues a build (or joins the waiting one it coalesces with). */
  async request(request: BuildRequest): Promise<{ build: Build; coalesced: boolean }> {
    const q = this.queueOf(request.root);
    const same = q.waiting.find((j) => j.request.kind === request.kind && (request.kind === BuildKind.BUILD_KIND_AUTO || sameArgs(j.request.args, request.args)));
    if (same) {
      same.request = request; // the newest request's prepare and target win
      return { build: same.build, coalesced: true };
    }
    const build = await this.options.store.create({
      ...Build.fromPartial({}),
      target: request.target,
      root: request.root,
      kind: request.kind,
      args: [...request.args],
      status: BuildStatus.BUILD_STATUS_QUEUED,
      configDigest: request.configDigest ?? '',
      queuedAt: new Date(),
    });
    const job: Job = { build, request, cancel: new AbortController(), cancelReason: '' };
    q.waiting.push(job);
    this.emit('queued', build);
    this.kick(request.root);
    return { build, coalesced: false };
  }

  /** The running build of a root, if any. */
  running(root: string): Build | undefined {
    return this.roots.get(root)?.running?.build;
  }

  /** The live log of a running build (for followers), if it is running. */
  liveLog(root: string, id: number): BuildLogWriter | undefined {
    const job = this.roots.get(root)?.running;
    return job?.build.id === id ? job.writer : undefined;
  }

  /**
   * Cancels build `id` of `root` (0: the running one, else the next waiting). A waiting build is
   * dropped; a running one is stopped (TERM to its process group, KILL after the grace period).
   * Resolves once the build has ended.
   */
  async cancel(root: string, id: number, reason: string): Promise<Build> {
    const q = this.roots.get(root);
    const job = id ? [q?.running, ...(q?.waiting ?? [])].find((j) => j?.build.id === id) : (q?.running ?? q?.waiting[0]);
    if (!job || !q) {
      const known = id ? this.options.store.get(root, id) : undefined;
      if (known) return known; // already ended: nothing to cancel
      throw new NotFoundError(id ? `no build ${id} in root "${root}"` : `no build running or queued in root "${root}"`);
    }
    job.cancelReason = reason;
    if (q.running !== job) {
      q.waiting.splice(q.waiting.indexOf(job), 1);
      await this.finish(job, { status: BuildStatus.BUILD_STATUS_CANCELLED, exitCode: 0, error: `cancelled: ${reason}` });
      return job.build;
    }
    const ended = this.whenFinished(job.build);
    job.cancel.abort();
    await ended;
    return job.build;
  }

  /**
   * Cancels the running automatic build of `root` when it was prepared from another config than
   * `digest`: its packages would be built for a config the target no longer has.
   */
  cancelObsolete(root: string, digest: string): boolean {
    const job = this.roots.get(root)?.running;
    if (!job || job.build.kind !== BuildKind.BUILD_KIND_AUTO) return false;
    if (!job.build.configDigest || job.build.configDigest === digest) return false;
    job.cancelReason = `superseded by a newer config (${digest})`;
    job.cancel.abort();
    return true;
  }

  /** Stops every running build and waits for them; their records end INTERRUPTED. */
  async stop(): Promise<void> {
    this.stopped = true;
    const running: Promise<void>[] = [];
    for (const q of this.roots.values()) {
      q.waiting.length = 0;
      const job = q.running;
      if (!job) continue;
      job.cancelReason = 'host stopping';
      running.push(this.whenFinished(job.build));
      job.cancel.abort();
    }
    await Promise.all(running);
  }

  /** Resolves when `build` has finished. */
  whenFinished(build: Build): Promise<void> {
    return new Promise((resolve) => {
      const on = (b: Build) => {
        if (b !== build) return;
        this.off('finished', on);
        resolve();
      };
      this.on('finished', on);
    });
  }

  private queueOf(root: string): RootQueue {
    let q = this.roots.get(root);
    if (!q) this.roots.set(root, (q = { running: undefined, waiting: [] }));
    return q;
  }

  private kick(root: string): void {
    const q = this.queueOf(root);
    if (q.running || this.stopped) return;
    const job = q.waiting.shift();
    if (!job) return;
    q.running = job;
    void this.run(job)
      .catch((err: unknown) => this.options.log.error({ err, root, buildId: job.build.id }, 'build crashed'))
      .finally(() => {
        q.running = undefined;
        this.kick(root);
      });
  }

  private async run(job: Job): Promise<void> {
    const { build, request } = job;
    const { options } = this;
    const log = options.log.child({ root: build.root, buildId: build.id });
    // The log exists before the build shows as RUNNING, so a follower never finds a running build
    // without a live log.
    job.writer = new BuildLogWriter(options.store.logFile(build.root, build.id));
    build.status = BuildStatus.BUILD_STATUS_RUNNING;
    build.startedAt = new Date();
    await options.store.save(build);
    this.emit('started', build);
    log.info({ kind: build.kind, args: build.args }, 'build started');
    try {
      if (request.prepare) build.configDigest = await request.prepare();
    } catch (err) {
      job.writer.write(`!!! binhost: could not apply the config: ${errorMessage(err)}`);
      return this.finish(job, { status: BuildStatus.BUILD_STATUS_FAILED, exitCode: 0, error: `config not applied: ${errorMessage(err)}` });
    }
    if (job.cancel.signal.aborted) {
      return this.finish(job, { status: BuildStatus.BUILD_STATUS_CANCELLED, exitCode: 0, error: `cancelled: ${job.cancelReason}` });
    }
    let outcome: EmergeOutcome;
    try {
      outcome = await runBuildEmerge({ options, build, writer: job.writer, signal: job.cancel.signal, log, onProgress: () => this.emit('progress', build) });
    } catch (err) {
      job.writer.write(`!!! binhost: ${errorMessage(err)}`);
      return this.finish(job, { status: BuildStatus.BUILD_STATUS_FAILED, exitCode: 0, error: errorMessage(err) });
    }
    await options.afterEmerge?.(build, job.writer).catch((err: unknown) => log.warn({ err }, 'after-build step failed'));
    const verdict = verdictOf(outcome, options.command, job.writer.tail(), job.cancelReason);
    if (this.stopped && verdict.status === BuildStatus.BUILD_STATUS_CANCELLED) {
      verdict.status = BuildStatus.BUILD_STATUS_INTERRUPTED;
      verdict.error = 'the host stopped while this build ran';
    }
    if (verdict.status === BuildStatus.BUILD_STATUS_SUCCEEDED) {
      try {
        build.snapshotId = await options.publish(build);
      } catch (err) {
        log.error({ err }, 'publishing failed');
        verdict.status = BuildStatus.BUILD_STATUS_FAILED;
        verdict.error = `built, but publishing failed: ${errorMessage(err)}`;
      }
    }
    return this.finish(job, verdict);
  }

  private async finish(job: Job, verdict: { status: BuildStatus; exitCode: number; error: string }): Promise<void> {
    const { build } = job;
    Object.assign(build, verdict, { finishedAt: new Date(), logTail: job.writer?.tail() ?? [] });
    await this.options.store.save(build);
    rmSync(this.options.store.pidFile(build.root, build.id), { force: true });
    job.writer?.close();
    this.options.log.info({ root: build.root, buildId: build.id, status: BuildStatus[build.status], error: build.error || undefined }, 'build finished');
    this.emit('finished', build);
  }
}

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
