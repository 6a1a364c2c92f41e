import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildStatus, errnoCode, parsePackagesIndex, type Logger, type RootDiskUsage, type RootGarbageResult } from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import type { SnapshotStore } from '../publish/snapshot-store.js';
import { readSnapshotIndex } from '../publish/snapshot-record.js';
import type { BuildStore } from '../build/build-store.js';
import { isBinpkgPath, listFiles, uniqueBytes, type DiskFile } from './disk-files.js';
import { entryPath, planRetention } from './retention-plan.js';

/** Options for {@link GarbageCollector}. */
export interface GarbageCollectorOptions {
  layout: HostLayout;
  snapshots: SnapshotStore;
  builds: BuildStore;
  /** `build.keep_snapshots`. */
  keepSnapshots: number;
  /** `retention.keep_builds`: build records and logs kept per root. */
  keepBuilds: number;
  /** Snapshot ids of `root` some target is published or has installed. */
  inUse(root: string): number[];
  /** Targets that build in or are served from `root`. */
  targetsOf(root: string): string[];
  /** Why `root` must be left alone now (a build runs in it), or undefined. */
  busy(root: string): string | undefined;
  /** Makes PKGDIR/Packages of `root` match its files again, the way Portage does (`emaint binhost --fix`). */
  fixIndex(root: string): Promise<void>;
  log: Logger;
}

/** Everything retention decides for one root, before it acts. */
interface RootPlan {
  removeInstances: DiskFile[];
  removeSnapshots: number[];
  removeBuilds: number[];
  usage: RootDiskUsage;
}

/**
 * Retention for years of builds: per root, binpkg instances (PKGDIR), snapshots and build history.
 * Snapshots go as before (`build.keep_snapshots` newest plus those in use); an instance goes when
 * no kept snapshot names it and it is not what `--usepkg` needs (retention-plan.ts), after which
 * Portage's own `emaint binhost --fix` rewrites the index; build records past
 * `retention.keep_builds` go with their logs. Runs after each publish, and on demand (`binhostctl gc`).
 */
export class GarbageCollector {
  constructor(private readonly options: GarbageCollectorOptions) {}

  /** Roots that have a directory (built or not). */
  async roots(): Promise<string[]> {
    const { layout } = this.options;
    const dirs = await listDirs(layout.rootsDir());
    return dirs.filter((d) => !d.endsWith('.meta') && !d.startsWith('.')).sort();
  }

  /** Where the disk of `root` goes, and what retention would free. */
  async usage(root: string): Promise<RootDiskUsage> {
    return (await this.plan(root)).usage;
  }

  /**
   * Retention in `root` now; with `dryRun`, what it would remove. `inBuild`: called from the
   * root's own build job (after its publish), so the running build is no reason to skip.
   */
  async collect(root: string, opts: { dryRun: boolean; inBuild?: boolean }): Promise<RootGarbageResult> {
    const { options } = this;
    const result: RootGarbageResult = { root, freedBytes: 0n, removedInstances: [], removedSnapshots: [], removedBuilds: [], skipped: '' };
    const busy = opts.inBuild ? undefined : options.busy(root);
    if (busy) return { ...result, skipped: busy };
    const plan = await this.plan(root);
    result.freedBytes = plan.usage.reclaimableBytes;
    result.removedInstances = plan.removeInstances.map((f) => f.rel).sort();
    result.removedSnapshots = plan.removeSnapshots;
    result.removedBuilds = plan.removeBuilds;
    if (opts.dryRun) return result;
    if (plan.removeSnapshots.length) await options.snapshots.prune(root, options.keepSnapshots, options.inUse(root));
    for (const f of plan.removeInstances) await rm(f.path, { force: true });
    // Portage's index must list exactly the files: its own tool rewrites it (never a hand edit)
    if (plan.removeInstances.length) await options.fixIndex(root);
    result.removedBuilds = await options.builds.remove(root, plan.removeBuilds);
    if (plan.removeInstances.length || plan.removeSnapshots.length || plan.removeBuilds.length) {
      options.log.info(
        { root, instances: plan.removeInstances.length, snapshots: plan.removeSnapshots, builds: result.removedBuilds.length, freedBytes: Number(result.freedBytes) },
        'retention removed old packages',
      );
    }
    return result;
  }

  private async plan(root: string): Promise<RootPlan> {
    const { layout, snapshots, builds, keepSnapshots, keepBuilds } = this.options;
    const pkgDir = layout.pkgDir(root);
    const index = await readIndex(join(pkgDir, 'Packages'));
    const pkgFiles = await listFiles(pkgDir);
    const all = await snapshots.list(root);
    const removeSnapshots = await snapshots.prunable(root, keepSnapshots, this.options.inUse(root));
    const named = new Set<string>();
    for (const s of all.filter((x) => !removeSnapshots.includes(x.id))) {
      const read = await readSnapshotIndex(layout, s).catch(() => undefined); // damaged: marked by the store
      for (const e of read?.index.packages ?? []) named.add(entryPath(e));
    }
    // without an index nothing tells which instance is which: leave PKGDIR to the next build
    const remove = index ? planRetention(index, pkgFiles.filter((f) => isBinpkgPath(f.rel)), named).remove : [];
    const snapFiles = await listFiles(layout.snapshotsDir(root));
    const finished = builds.list(root).filter((b) => b.status !== BuildStatus.BUILD_STATUS_QUEUED && b.status !== BuildStatus.BUILD_STATUS_RUNNING);
    const removeBuilds = finished.slice(keepBuilds).map((b) => b.id);
    const buildFiles = await listFiles(layout.buildsDir(root));
    const doomedBuild = new Set(removeBuilds.flatMap((id) => [`${id}.json`, `${id}.log`]));
    // what stays referenced once the removals are done: every inode not in that set is freed
    const gone = new Set(remove.map((f) => f.path));
    const doomedSnap = (f: DiskFile) => removeSnapshots.includes(Number(f.rel.split('/')[0]));
    const after = new Set<string>();
    uniqueBytes(pkgFiles.filter((f) => !gone.has(f.path)), after);
    uniqueBytes(snapFiles.filter((f) => !doomedSnap(f)), after);
    const freed = uniqueBytes([...remove, ...snapFiles.filter(doomedSnap)], new Set(after)) + sum(buildFiles.filter((f) => doomedBuild.has(f.rel)));
    const seen = new Set<string>();
    return {
      removeInstances: remove,
      removeSnapshots,
      removeBuilds,
      usage: {
        root,
        targets: this.options.targetsOf(root),
        pkgdirBytes: BigInt(uniqueBytes(pkgFiles, seen)),
        snapshotsBytes: BigInt(uniqueBytes(snapFiles, seen)),
        buildLogsBytes: BigInt(sum(buildFiles)),
        reclaimableBytes: BigInt(freed),
        instances: pkgFiles.filter((f) => isBinpkgPath(f.rel)).length,
        removableInstances: remove.length,
        snapshots: all.length,
        removableSnapshots: removeSnapshots.length,
        builds: builds.list(root).length,
        removableBuilds: removeBuilds.length,
      },
    };
  }
}

function sum(files: readonly DiskFile[]): number {
  return files.reduce((n, f) => n + f.size, 0);
}

async function readIndex(file: string) {
  try {
    return parsePackagesIndex(await readFile(file, 'utf8'), file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}
