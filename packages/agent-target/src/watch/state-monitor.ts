import { EventEmitter } from 'node:events';
import { errorMessage, reportSendKey, type Logger, type TargetState } from '@binhost/shared';
import { ConfigWatcher } from './config-watcher.js';
import { RepoWatcher } from './repo-watcher.js';

/**
 * The monitor the target daemon runs: watches `config.root`, collects with
 * `collectTargetState` (or `collect`), and hands each new state to `offer`.
 */
/** Options for {@link StateMonitor}. */
export interface StateMonitorOptions {
  root: string;
  debounceMs: number;
  log: Logger;
  /** Takes a fresh snapshot of the target. */
  collect: () => Promise<TargetState>;
  /** Receives each state whose {@link reportSendKey} differs from the one offered before (StateReporter.offer). */
  offer: (state: TargetState) => void;
}

/**
 * Keeps the reported state current: on start and after each debounced burst of changes — to the
 * config tree, or to the revision files of a repository repos.conf names (a tree synced) — it
 * takes a snapshot, and offers it only when its config, machine facts or repository revisions
 * changed. Snapshots never overlap; changes that
 * arrive during one cause exactly one more. Emits `offered` and `unchanged` (for tests and
 * benchmarks).
 */
export class StateMonitor extends EventEmitter<{ offered: [state: TargetState]; unchanged: [digest: string] }> {
  private readonly watcher: ConfigWatcher;
  private readonly repos: RepoWatcher;
  private lastDigest: string | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: StateMonitorOptions) {
    super();
    this.watcher = new ConfigWatcher({ root: options.root, debounceMs: options.debounceMs, log: options.log });
    this.watcher.on('change', (paths) => {
      options.log.debug({ paths }, 'config changed');
      this.trigger();
    });
    this.repos = new RepoWatcher({ root: options.root, debounceMs: options.debounceMs, log: options.log });
    this.repos.on('change', (paths) => {
      options.log.debug({ paths }, 'repository revision files changed');
      this.trigger();
    });
  }

  /** {@link reportSendKey} of the last state offered: the files, the machine's facts or the revisions changed. */
  private lastKey: string | undefined;

  /** The digest of the last state offered. */
  get digest(): string | undefined {
    return this.lastDigest;
  }

  /** Starts watching, then takes and offers the first snapshot. */
  async start(): Promise<void> {
    await this.watcher.start();
    await this.repos.start();
    this.trigger();
    await this.idle();
  }

  /** Stops watching and waits for a snapshot in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.watcher.close();
    await this.idle();
    await this.repos.close();
  }

  /** Resolves when no snapshot is being taken. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        const state = await this.options.collect();
        if (this.stopped) return;
        // repos.conf may name other trees now (before the comparison: a watch set up late misses nothing, the next sync is seen)
        await this.repos.update().catch((err: unknown) => this.options.log.warn({ err: errorMessage(err) }, 'repository watch not updated'));
        const key = reportSendKey(state);
        if (key === this.lastKey) {
          this.emit('unchanged', state.digest);
          continue;
        }
        this.options.log.info({ digest: state.digest, previous: this.lastDigest, files: state.files.length, repos: state.repoRevisions.length }, 'state changed');
        this.lastDigest = state.digest;
        this.lastKey = key;
        this.options.offer(state);
        this.emit('offered', state);
      } catch (err) {
        // collectTargetState turns file problems into warnings; this is something worse (a bug,
        // or the process out of file descriptors). Keep watching: the next change retries.
        this.options.log.error({ err: errorMessage(err) }, 'state collection failed');
      }
    } while (this.again && !this.stopped);
  }
}
