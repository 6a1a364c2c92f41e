import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import {
  AgentError,
  assertSafeRelativePath,
  atomicWrite,
  errnoCode,
  errorMessage,
  FailedPreconditionError,
  indexValue,
  NotFoundError,
  parsePackagesIndex,
  serializePackagesIndex,
  Snapshot,
  type Logger,
  type PackagesIndex,
  type RepoRevision,
} from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import { nodeSnapshotFs, type SnapshotFs } from './snapshot-fs.js';
import { DamagedRecordError, DamagedRecords } from '../registry/damaged-records.js';
import { readPublishedPointer, readSnapshot, readSnapshotIndex, type PublishedPointer } from './snapshot-record.js';
import { selectInstances } from './instance-select.js';
import { computeSnapshotDigests, SNAPSHOT_DIGESTS_FILE } from './snapshot-digests.js';

/** Options of {@link SnapshotStore.create}. */
export interface CreateSnapshotOptions {
  /** Publish the newest instances even where they only rebuild what the previous snapshot has. @default false */
  reinstallRebuilt?: boolean;
  /** The host's repository revisions the build used. @default [] */
  repoRevisions?: RepoRevision[];
}

/** A target's current publication: which root, which snapshot, and the directory to serve from. */
export interface PublishedSnapshot {
  root: string;
  snapshot: Snapshot;
  /** `snapshots/<n>/`: `Packages` and every file it names, never changed after creation. */
  dir: string;
}

/**
 * Immutable, numbered snapshots of a root's PKGDIR, and which one each target is served.
 * Portage rewrites `PKGDIR/Packages` after every package, so targets never read PKGDIR: a
 * snapshot holds a copy of the index and hard links to the files it names, made in
 * `snapshots/<n>.tmp/` and renamed into place, so a snapshot is whole or absent.
 */
export class SnapshotStore {
  private readonly pointers = new Map<string, PublishedPointer>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly layout: HostLayout,
    private readonly log: Logger,
    private readonly fs: SnapshotFs = nodeSnapshotFs,
    /** Where damaged pointers and snapshot records are marked. */
    private readonly damage = new DamagedRecords(log),
  ) {}

  /**
   * Reads the published pointers of `targets` (at startup). A damaged one is marked and leaves
   * its target with nothing published, and is replaced by its next publish.
   */
  async load(targets: readonly string[]): Promise<void> {
    for (const t of targets) {
      const p = await this.damage.guard({ target: t }, () => readPublishedPointer(this.layout, t)).catch((err: unknown) => {
        if (err instanceof DamagedRecordError) return undefined;
        throw err;
      });
      if (p) this.pointers.set(t, p);
    }
  }

  /** The snapshot id published for `target`, 0 if none (synchronous, for summaries). */
  publishedId(target: string): number {
    return this.pointers.get(target)?.snapshotId ?? 0;
  }

  /** Drops `target`'s published pointer from memory (its record dir is gone: `target remove`). */
  forget(target: string): void {
    this.pointers.delete(target);
  }

  /** The root whose snapshot is published for `target`, if any. */
  publishedRoot(target: string): string | undefined {
    return this.pointers.get(target)?.root;
  }

  /** What `target` is served now, or undefined before its first publication. */
  async published(target: string): Promise<PublishedSnapshot | undefined> {
    const p = this.pointers.get(target) ?? (await this.damage.guard({ target }, () => readPublishedPointer(this.layout, target)));
    if (!p) return undefined;
    return { root: p.root, snapshot: await this.read(p.root, p.snapshotId), dir: this.dir(p.root, p.snapshotId) };
  }

  /** The directory of snapshot `id` of `root`. */
  dir(root: string, id: number): string {
    return this.layout.snapshotDir(root, id);
  }

  /**
   * A snapshot's record; NotFoundError when it does not exist (or was pruned), a (marked)
   * DamagedRecordError when its snapshot.json is damaged.
   */
  async read(root: string, id: number): Promise<Snapshot> {
    const snapshot = await this.damage.guard({ root }, () => readSnapshot(this.layout, root, id));
    if (!snapshot) throw new NotFoundError(`root "${root}" has no snapshot ${id}`);
    return snapshot;
  }

  /** Every snapshot of `root`, oldest first; damaged ones are left out (and marked). */
  async list(root: string): Promise<Snapshot[]> {
    const ids = await this.ids(root);
    const read = await Promise.all(
      ids.map((id) =>
        this.read(root, id).catch((err: unknown) => {
          if (err instanceof DamagedRecordError || err instanceof NotFoundError) return undefined;
          throw err;
        }),
      ),
    );
    return read.filter((s) => s !== undefined);
  }

  /**
   * Publishes PKGDIR of `root` as the next snapshot: the index as it is now, plus a hard link to
   * every file it names, checked against the index's SIZE. On any failure (a missing file, a
   * full disk) the half-made directory is removed and earlier snapshots are untouched.
   */
  async create(root: string, buildId: number, builtDigest: string, options: CreateSnapshotOptions = {}): Promise<Snapshot> {
    return this.exclusive(root, async () => {
      const snapshots = this.layout.snapshotsDir(root);
      await this.fs.mkdir(snapshots);
      await this.removeLeftovers(root);
      const ids = await this.ids(root);
      const id = (ids.at(-1) ?? 0) + 1;
      const tmp = `${this.layout.snapshotDir(root, id)}.tmp`;
      try {
        const previous = await this.previousOf(root, ids.at(-1));
        const snapshot = await this.fill(root, tmp, { id, buildId, builtDigest, previous, ...options });
        await this.fs.rename(tmp, this.layout.snapshotDir(root, id));
        await this.fs.syncDir(snapshots);
        this.log.info({ root, snapshotId: id, packages: snapshot.packageCount }, 'snapshot created');
        return snapshot;
      } catch (err) {
        await this.fs.rmTree(tmp).catch(() => undefined);
        if (errnoCode(err) === 'ENOSPC') {
          throw new AgentError(`disk full while publishing snapshot ${id} of root "${root}"; earlier snapshots are intact`, status.RESOURCE_EXHAUSTED, { cause: err });
        }
        if (err instanceof AgentError) throw err;
        throw new AgentError(`publishing snapshot ${id} of root "${root}" failed: ${errorMessage(err)}`, status.INTERNAL, { cause: err });
      }
    });
  }

  /** Points `target` at snapshot `id` of `root` (publish, or roll back), atomically. */
  async publish(target: string, root: string, id: number): Promise<Snapshot> {
    const snapshot = await this.read(root, id);
    const pointer: PublishedPointer = { root, snapshotId: id };
    await atomicWrite(this.layout.publishedFile(target), JSON.stringify(pointer) + '\n', { mkdirs: true });
    this.damage.clear(this.layout.publishedFile(target));
    this.pointers.set(target, pointer);
    this.log.info({ target, root, snapshotId: id }, 'snapshot published');
    return snapshot;
  }

  /**
   * Retention: removes the snapshots of `root` that are neither among the `keep` newest nor in
   * `inUse` (published to or installed by some target). Returns the removed ids.
   */
  async prune(root: string, keep: number, inUse: Iterable<number>): Promise<number[]> {
    return this.exclusive(root, async () => {
      const doomed = await this.prunable(root, keep, inUse);
      for (const id of doomed) {
        // Renamed first, so a reader never sees a half-deleted snapshot under its number.
        const gone = join(this.layout.snapshotsDir(root), `.${id}.deleting`);
        await this.fs.rename(this.layout.snapshotDir(root, id), gone);
        await this.fs.rmTree(gone);
        for (const f of ['snapshot.json', 'Packages']) this.damage.clear(join(this.layout.snapshotDir(root, id), f));
      }
      if (doomed.length) this.log.info({ root, removed: doomed }, 'snapshots pruned');
      return doomed;
    });
  }

  /** What {@link prune} would remove now: the ids beyond the `keep` newest that no target uses. */
  async prunable(root: string, keep: number, inUse: Iterable<number>): Promise<number[]> {
    const used = new Set(inUse);
    const ids = await this.ids(root);
    return ids.slice(0, Math.max(0, ids.length - keep)).filter((id) => !used.has(id));
  }

  /** The snapshot before a new one, and its index (instances it keeps when nothing changed). */
  private async previousOf(root: string, id: number | undefined): Promise<{ snapshot: Snapshot; index: PackagesIndex } | undefined> {
    if (!id) return undefined;
    const snapshot = await this.read(root, id).catch(() => undefined); // damaged or gone: choose afresh
    const read = snapshot && (await readSnapshotIndex(this.layout, snapshot).catch(() => undefined));
    return snapshot && read ? { snapshot, index: read.index } : undefined;
  }

  private async fill(
    root: string,
    tmp: string,
    meta: { id: number; buildId: number; builtDigest: string; previous: { snapshot: Snapshot; index: PackagesIndex } | undefined } & CreateSnapshotOptions,
  ): Promise<Snapshot> {
    const pkgDir = this.layout.pkgDir(root);
    let bytes: Buffer;
    try {
      bytes = await readFile(join(pkgDir, 'Packages'));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new FailedPreconditionError(`${pkgDir}/Packages does not exist: the build made no binary packages`);
      throw err;
    }
    const all = parsePackagesIndex(bytes.toString('utf8'), join(pkgDir, 'Packages'));
    const index = await selectInstances(all, {
      rootDir: this.layout.rootDir(root),
      previous: meta.previous?.index,
      sameConfig: meta.previous?.snapshot.builtDigest === meta.builtDigest,
      reinstallRebuilt: meta.reinstallRebuilt ?? false,
    });
    // Portage's bytes when nothing was left out, else the same layout with one instance per package
    if (index.packages.length !== all.packages.length) bytes = Buffer.from(serializePackagesIndex(index));
    await this.fs.mkdir(tmp);
    const linked = new Set<string>();
    const made = new Set<string>();
    let totalBytes = 0;
    for (const entry of index.packages) {
      // Without PATH (no binpkg-multi-instance) Portage stores CPV.tbz2.
      const path = assertSafeRelativePath(indexValue(entry, 'PATH') ?? `${indexValue(entry, 'CPV') ?? ''}.tbz2`, 'Packages PATH');
      if (linked.has(path)) continue;
      const source = join(pkgDir, path);
      const size = await this.fs.size(source).catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT') throw new FailedPreconditionError(`${pkgDir}/Packages names ${path}, which does not exist`);
        throw err;
      });
      const declared = indexValue(entry, 'SIZE');
      if (declared !== undefined && Number(declared) !== size) {
        throw new FailedPreconditionError(`${pkgDir}/Packages says ${path} has SIZE ${declared}, the file has ${size} bytes`);
      }
      const parent = join(tmp, path, '..');
      if (!made.has(parent)) await this.fs.mkdir(parent);
      made.add(parent);
      await this.fs.link(source, join(tmp, path));
      linked.add(path);
      totalBytes += size;
    }
    const snapshot: Snapshot = {
      id: meta.id,
      root,
      builtDigest: meta.builtDigest,
      createdAt: new Date(),
      packageCount: index.packages.length,
      totalBytes: BigInt(totalBytes),
      buildId: meta.buildId,
      repoRevisions: meta.repoRevisions ?? [],
    };
    await this.fs.writeFileSynced(join(tmp, 'Packages'), bytes);
    // the strong digests targets verify with (snapshot-digests.ts), taken from the linked files
    await this.fs.writeFileSynced(join(tmp, SNAPSHOT_DIGESTS_FILE), await computeSnapshotDigests(tmp, index));
    await this.fs.writeFileSynced(join(tmp, 'snapshot.json'), JSON.stringify(Snapshot.toJSON(snapshot), null, 2) + '\n');
    await this.fs.syncDir(tmp);
    return snapshot;
  }

  /** Numbered snapshot directories of `root`, ascending. */
  private async ids(root: string): Promise<number[]> {
    const names = await this.fs.readdir(this.layout.snapshotsDir(root)).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return [] as string[];
      throw err;
    });
    return names.filter((n) => /^[1-9]\d*$/.test(n)).map(Number).sort((a, b) => a - b);
  }

  /** Temp and half-deleted directories a crash left behind. */
  private async removeLeftovers(root: string): Promise<void> {
    const dir = this.layout.snapshotsDir(root);
    for (const n of await this.fs.readdir(dir)) if (/\.(tmp|deleting)$/.test(n)) await this.fs.rmTree(join(dir, n));
  }

  /** Runs `fn` after every earlier operation on `root` has ended. */
  private exclusive<T>(root: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(root) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(root, next);
    return next;
  }
}
