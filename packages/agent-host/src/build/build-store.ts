import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite, Build, BuildStatus, errnoCode, isValidName, type Logger } from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import { DamagedRecordError, DamagedRecords, parseJsonObject, readRecord } from '../registry/damaged-records.js';

/**
 * Build history, durable: one `builds/<id>.json` per build (Build.toJSON) beside its
 * `builds/<id>.log`, under each root's meta dir. Ids count up per root. Records are rewritten
 * atomically at every status change, so a host restart finds each build as it last was.
 */
export class BuildStore {
  private readonly builds = new Map<string, Map<number, Build>>();
  /** Ids of damaged build records per root: skipped, but never given to a new build (it would overwrite them). */
  private readonly damagedIds = new Map<string, Set<number>>();

  constructor(
    private readonly layout: HostLayout,
    private readonly log: Logger,
    /** Where damaged build records are marked. */
    private readonly damage = new DamagedRecords(log),
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
        const build = await this.readBuild(root, Number(m[1]));
        if (!build) continue;
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

  /** One build record; a damaged one is marked for its root and skipped (undefined). */
  private async readBuild(root: string, id: number): Promise<Build | undefined> {
    const file = join(this.layout.buildsDir(root), `${id}.json`);
    const remedy = `delete it and ${id}.log beside it (that build's history is lost); the host skips it meanwhile`;
    const parse = (bytes: Buffer) => {
      const build = Build.fromJSON(parseJsonObject(bytes));
      if (build.id !== id || build.root !== root) throw new Error(`names build ${build.id} of root "${build.root}", not ${id} of "${root}"`);
      if (build.status <= 0 || build.kind < 0) throw new Error('has no valid status or kind');
      return build;
    };
    try {
      return await this.damage.guard({ root }, () => readRecord(file, parse, remedy));
    } catch (err) {
      if (!(err instanceof DamagedRecordError)) throw err;
      let ids = this.damagedIds.get(root);
      if (!ids) this.damagedIds.set(root, (ids = new Set()));
      ids.add(id);
      return undefined;
    }
  }

  /** A new build record with the next id of `root`, saved. */
  async create(fields: Omit<Build, 'id'>): Promise<Build> {
    const byId = this.forRoot(fields.root);
    const id = Math.max(0, ...byId.keys(), ...(this.damagedIds.get(fields.root) ?? [])) + 1;
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

  /**
   * Removes finished builds' records and logs (retention of build history): a queued or running
   * build is never removed. Returns the ids removed.
   */
  async remove(root: string, ids: readonly number[]): Promise<number[]> {
    const removed: number[] = [];
    for (const id of ids) {
      const build = this.get(root, id);
      if (!build || build.status === BuildStatus.BUILD_STATUS_QUEUED || build.status === BuildStatus.BUILD_STATUS_RUNNING) continue;
      // the record first: a log without a record is never listed, a record without its log would be
      await rm(join(this.layout.buildsDir(root), `${id}.json`), { force: true });
      await rm(this.logFile(root, id), { force: true });
      this.builds.get(root)?.delete(id);
      removed.push(id);
    }
    return removed;
  }

  /** Drops the history of `root` from memory (its meta dir is gone: `target remove --purge`). */
  forgetRoot(root: string): void {
    this.builds.delete(root);
    this.damagedIds.delete(root);
    this.damage.forgetRoot(root);
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
      return entries
        .filter((e) => e.isDirectory() && e.name.endsWith('.meta'))
        .map((e) => e.name.slice(0, -'.meta'.length))
        .filter(isValidName); // another dir is not a root's: never a reason not to start
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
  }
}
