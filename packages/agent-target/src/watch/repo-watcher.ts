import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { readReposConf, type Logger } from '@binhost/shared';

/** Options for {@link RepoWatcher}. */
export interface RepoWatcherOptions {
  /** The target's root ('/' in production): its etc/portage/repos.conf names the trees. */
  root: string;
  /** Quiet time after the last event before one `change` is emitted (report.debounce_ms). */
  debounceMs: number;
  log: Logger;
}

/**
 * Paths inside a repository whose change means a new revision (what `readRepoRevision` reads):
 * git's HEAD, the branch refs it points to and packed-refs (a `git pull` or `emerge --sync`
 * rewrites a ref by lock file and rename), and the timestamp files an rsync sync replaces.
 * Directories on the way are listed so chokidar descends into them and no further.
 */
const DIRS = new Set(['.git', '.git/refs', 'metadata']);
const FILES = new Set(['.git/HEAD', '.git/packed-refs', 'metadata/timestamp.chk', 'metadata/timestamp.commit']);
const isRelevantInRepo = (rel: string) => rel === '' || DIRS.has(rel) || FILES.has(rel) || rel === '.git/refs/heads' || rel.startsWith('.git/refs/heads/');

/**
 * Watches the revision files of each repository in the target's repos.conf and emits one `change`
 * per burst, so that a tree synced without any config change is reported again (its revision
 * decides the skew the host shows and the `hold` and `refuse` policies). Like ConfigWatcher it
 * watches each location's parent (chokidar 5 stops for good when a watched root is deleted; a
 * tree may be removed and synced afresh, or not exist yet) and filters, so that chokidar never
 * descends into the tree's thousands of package directories.
 */
export class RepoWatcher extends EventEmitter<{ change: [paths: string[]] }> {
  private watcher: FSWatcher | undefined;
  private locations = new Set<string>();
  private parents = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private pending = new Set<string>();
  private started = false;
  /** The watched locations, sorted and joined: whether repos.conf names others now. */
  private key = '';

  constructor(private readonly options: RepoWatcherOptions) {
    super();
  }

  /** Starts watching the repositories repos.conf names now; resolves once chokidar is ready. */
  async start(): Promise<void> {
    this.started = true;
    await this.update();
  }

  /**
   * Re-reads repos.conf (after a config change) and, when it names other locations, watches
   * those instead: a new watcher, since chokidar does not look again into a directory its filter
   * once turned away.
   */
  async update(): Promise<void> {
    if (!this.started) return;
    const locations = new Set([...(await readReposConf(this.options.root)).values()].filter((l) => l.startsWith('/')));
    const key = [...locations].sort().join('\n');
    if (this.watcher && key === this.key) return;
    this.key = key;
    await this.watcher?.close();
    this.watcher = undefined;
    this.locations = locations;
    this.parents = new Set([...locations].map((l) => dirname(l)));
    if (!locations.size) return;
    // a parent that does not exist yet (an overlay added before its first sync) is watched from
    // its nearest existing ancestor: chokidar sees nothing appear under a path it could not watch
    const roots = new Set(await Promise.all([...this.parents].map(nearestExisting)));
    const watcher = watch([...roots], {
      ignoreInitial: true,
      usePolling: false,
      followSymlinks: false,
      atomic: true,
      ignored: (path: string) => !this.isRelevant(path),
    });
    this.watcher = watcher;
    watcher.on('all', (event, path) => this.onEvent(event, path));
    watcher.on('error', (err) => this.options.log.warn({ err }, 'repository watch error'));
    await new Promise<void>((resolve) => watcher.once('ready', resolve));
    this.options.log.debug({ locations: [...locations] }, 'watching repositories');
  }

  /** Stops watching and drops any pending signal. */
  async close(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.watcher?.close();
    this.watcher = undefined;
  }

  /** The repository `path` belongs to and its path inside it, or undefined. */
  private inRepo(path: string): { location: string; rel: string } | undefined {
    for (const location of this.locations) {
      const rel = relative(location, path).split(sep).join('/');
      if (!rel.startsWith('..') && !rel.startsWith('/')) return { location, rel };
    }
    return undefined;
  }

  private isRelevant(path: string): boolean {
    if (this.parents.has(path)) return true;
    // a parent that does not exist yet: chokidar watches the nearest ancestor that does
    for (const p of this.parents) if (p.startsWith(path.endsWith(sep) ? path : path + sep)) return true;
    const hit = this.inRepo(path);
    return hit !== undefined && isRelevantInRepo(hit.rel);
  }

  private onEvent(event: string, path: string): void {
    const hit = this.inRepo(path);
    // events on the parents themselves, or on a repository's directories, say nothing new
    if (!hit || (event.endsWith('Dir') && hit.rel !== '')) return;
    this.options.log.debug({ event, path }, 'repository event');
    this.pending.add(path);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const paths = [...this.pending].sort();
      this.pending.clear();
      this.timer = undefined;
      this.emit('change', paths);
    }, this.options.debounceMs);
  }
}

/** `dir`, or its nearest ancestor that exists. */
async function nearestExisting(dir: string): Promise<string> {
  for (let d = dir; ; d = dirname(d)) {
    if ((await stat(d).catch(() => undefined))?.isDirectory() || d === dirname(d)) return d;
  }
}
