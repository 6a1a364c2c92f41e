import { EventEmitter } from 'node:events';
import { join, relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { isExcludedPath, type Logger } from '@binhost/shared';

/** Options for {@link ConfigWatcher}. */
export interface ConfigWatcherOptions {
  /** The target's root ('/' in production). */
  root: string;
  /** Quiet time after the last event before one `change` is emitted (report.debounce_ms). */
  debounceMs: number;
  log: Logger;
}

/** Root-relative paths the watcher cares about besides everything under etc/portage. */
const WORLD = new Set(['var/lib/portage/world', 'var/lib/portage/world_sets']);

/**
 * Watches a target's etc/portage tree and its world files with chokidar (inotify, never polling)
 * and emits one `change` event per burst of filesystem events.
 *
 * It watches the parents (`<root>/etc`, `<root>/var/lib`) and filters, because chokidar 5 stops for
 * good when its watched root is deleted: this way `rm -rf /etc/portage` followed by a restore, a
 * world file rewritten by rename, and deleted-and-recreated subdirectories are all seen. The
 * filter keeps chokidar from descending into the rest of /etc and /var/lib. No awaitWriteFinish:
 * it stat-polls each file for seconds; a half-written file is simply read again after the
 * writer's next event.
 */
export class ConfigWatcher extends EventEmitter<{ change: [paths: string[]] }> {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending = new Set<string>();
  private burstStart = 0;

  constructor(private readonly options: ConfigWatcherOptions) {
    super();
  }

  /** Starts watching; resolves once chokidar has set up its inotify watches. */
  async start(): Promise<void> {
    const { root } = this.options;
    const watcher = watch([join(root, 'etc'), join(root, 'var', 'lib')], {
      ignoreInitial: true,
      usePolling: false,
      followSymlinks: false,
      atomic: true,
      ignored: (path: string) => !this.isRelevant(path),
    });
    this.watcher = watcher;
    watcher.on('all', (event, path) => this.onEvent(event, path));
    // chokidar drops changes to dangling symlinks (it realpath()s them and gives up), so a
    // make.profile re-pointed at a profile that is not there (yet) would go unseen. inotify still
    // tells it; take the raw events as a trigger too.
    watcher.on('raw', (event, evPath: string | null, details) => {
      const dir = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (!dir) return;
      const path = evPath ? join(dir, evPath) : dir;
      if (this.isRelevant(path)) this.onEvent(`raw-${event}`, path);
    });
    watcher.on('error', (err) => this.options.log.warn({ err }, 'watch error'));
    await new Promise<void>((resolve) => watcher.once('ready', resolve));
  }

  /** Stops watching and drops any pending signal. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.watcher?.close();
    this.watcher = undefined;
  }

  /** The path filter: the watched parents, etc/portage and below, the world files. */
  private isRelevant(path: string): boolean {
    const rel = relative(this.options.root, path).split(sep).join('/');
    if (rel === 'etc' || rel === 'var/lib' || rel === 'var/lib/portage' || WORLD.has(rel)) return true;
    return (rel === 'etc/portage' || rel.startsWith('etc/portage/')) && !isExcludedPath(rel);
  }

  private onEvent(event: string, path: string): void {
    const rel = relative(this.options.root, path).split(sep).join('/');
    // Events on the watched parents themselves say nothing about the state.
    if (rel === 'etc' || rel === 'var/lib') return;
    this.options.log.debug({ event, path: rel }, 'config event');
    if (this.pending.size === 0) this.burstStart = Date.now();
    this.pending.add(rel);
    clearTimeout(this.timer);
    // A writer that never pauses (a long emerge rewriting world) must not postpone the report
    // forever: after ten quiet periods' worth of burst, report anyway.
    const overdue = Date.now() - this.burstStart >= 10 * this.options.debounceMs;
    this.timer = setTimeout(() => this.flush(), overdue ? 0 : this.options.debounceMs);
  }

  private flush(): void {
    const paths = [...this.pending].sort();
    this.pending.clear();
    this.timer = undefined;
    this.emit('change', paths);
  }
}
