import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite, Build, BuildStatus, errnoCode, type Logger } from '@binhost/shared';
import type { HostLayout } from '../layout.js';

/**
 * Build history, durable: one `builds/<id>.json` per build (Build.toJSON) beside its
 * `builds/<id>.log`, under each root's meta dir. Ids count up per root. Records are rewritten
 * atomically at every status change, so a host restart finds each build as it last was.
 */
export class BuildStore {
  private readonly builds = new Map<string, Map<number, Build>>();

  constructor(
    private readonly layout: HostLayout,
    private readonly log: Logger,
  ) {}

  /**
   * Reads every root's history. A build still QUEUED or RUNNING was cut off by the host stopping
   * (its emerge died with us, or never started): it is marked INTERRUPTED, never left running.
   */
  async load(): Promise<void> {
    for (const root of await this.rootsWithMeta()) {
      const byId = this.forRoot(root);
      const dir = this.layout.buildsDir(root);
      for (const f of await readdir(dir).catch(() => [] as string[])) {
        const m = /^(\d+)\.json$/.exec(f);
        if (!m) continue;
        const build = Build.fromJSON(JSON.parse(await readFile(join(dir, f), 'utf8')));
        byId.set(build.id, build);
        if (build.status === BuildStatus.BUILD_STATUS_RUNNING || build.status === BuildStatus.BUILD_STATUS_QUEUED) {
          const wasRunning = build.status === BuildStatus.BUILD_STATUS_RUNNING;
          const pid = Number((await readFile(this.pidFile(root, build.id), 'utf8').catch(() => '')).trim());
          if (wasRunning && Number.isInteger(pid) && pid > 1) this.cutOff.push({ root, id: build.id, pid });
          build.status = BuildStatus.BUILD_STATUS_INTERRUPTED;
          build.error = wasRunning ? 'the host stopped while this build ran' : 'the host stopped before this build started';
          build.finishedAt ??= new Date();
          await this.save(build);
          this.log.warn({ root, buildId: build.id, wasRunning }, 'build marked interrupted');
        }
      }
    }
  }

  /** A new build record with the next id of `root`, saved. */
  async create(fields: Omit<Build, 'id'>): Promise<Build> {
    const byId = this.forRoot(fields.root);
    const id = Math.max(0, ...byId.keys()) + 1;
    const build: Build = { ...fields, id };
    byId.set(id, build);
    await mkdir(this.layout.buildsDir(fields.root), { recursive: true });
    await this.save(build);
    return build;
  }

  /** Writes a build's record (after any change). */
  async save(build: Build): Promise<void> {
    this.forRoot(build.root).set(build.id, build);
    await atomicWrite(join(this.layout.buildsDir(build.root), `${build.id}.json`), JSON.stringify(Build.toJSON(build), null, 2) + '\n', {
      mkdirs: true,
    });
  }

  get(root: string, id: number): Build | undefined {
    return this.builds.get(root)?.get(id);
  }

  /** The builds of `root`, newest first. */
  list(root: string): Build[] {
    return [...(this.builds.get(root)?.values() ?? [])].sort((a, b) => b.id - a.id);
  }

  /** Drops the history of `root` from memory (its meta dir is gone: `target remove --purge`). */
  forgetRoot(root: string): void {
    this.builds.delete(root);
  }

  /** Every root with history. */
  roots(): string[] {
    return [...this.builds.keys()].sort();
  }

  /** Builds found RUNNING at load, with the pid their emerge had (from `<id>.pid`), if recorded. */
  readonly cutOff: { root: string; id: number; pid: number }[] = [];

  /** Path of the file holding a running build's emerge pid. */
  pidFile(root: string, id: number): string {
    return join(this.layout.buildsDir(root), `${id}.pid`);
  }

  /** Path of a build's log file. */
  logFile(root: string, id: number): string {
    return join(this.layout.buildsDir(root), `${id}.log`);
  }

  private forRoot(root: string): Map<number, Build> {
    let byId = this.builds.get(root);
    if (!byId) this.builds.set(root, (byId = new Map()));
    return byId;
  }

  private async rootsWithMeta(): Promise<string[]> {
    try {
      const entries = await readdir(this.layout.rootsDir(), { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && e.name.endsWith('.meta')).map((e) => e.name.slice(0, -'.meta'.length));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
  }
}
