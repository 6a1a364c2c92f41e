import { realpath } from 'node:fs/promises';
import { errnoCode, indexValue, type PackagesIndex, type Snapshot } from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import type { SnapshotStore } from '../publish/snapshot-store.js';
import { readSnapshot, readSnapshotIndex, readSnapshotSync, type PublishedPointer } from '../publish/snapshot-record.js';
import { DamagedRecordError, type DamagedRecords } from '../registry/damaged-records.js';
import { readSnapshotDigests, type FileDigest } from '../publish/snapshot-digests.js';

/** One published snapshot as the serving code sees it: its metadata and its directory. */
export interface Publication {
  readonly snapshot: Snapshot;
  /** `<state_dir>/roots/<root>.meta/snapshots/<n>`, real path (symlinks resolved). */
  readonly dir: string;
  /** The snapshot's `Packages` index, byte for byte. */
  readonly indexBytes: Buffer;
  /** Every PATH the index names: the only files that may be fetched from this snapshot. */
  readonly paths: ReadonlySet<string>;
  /** SHA-256 of the files, by PATH, as recorded when the snapshot was made (see snapshot-digests.ts). */
  readonly digests?: ReadonlyMap<string, FileDigest>;
}

/**
 * Where serving finds what a target may read. Kept small so the host's snapshot store can stand
 * behind it; {@link FsPublicationSource} reads the {@link HostLayout} directly.
 */
export interface PublicationSource {
  /** The snapshot currently published for `target`, or undefined when none is. */
  published(target: string): Promise<Publication | undefined>;
  /** Snapshot `id` of the root `target` is published from, or undefined when it does not exist. */
  read(target: string, id: number): Promise<Publication | undefined>;
  /** The published snapshot id of `target`, 0 if none (synchronous: used in summaries). */
  publishedId(target: string): number;
  /** The digest the published snapshot was built from, "" if none (synchronous: summaries). */
  builtDigest(target: string): string;
  /** The published snapshot's record, if any (synchronous: summaries). */
  publishedSnapshotSync(target: string): Snapshot | undefined;
  /**
   * Forgets what was read from `root`'s snapshots (`target remove --purge` deleted them; a root
   * made again under that name numbers its snapshots from 1 again).
   */
  forgetRoot(root: string): void;
}

/**
 * The PATH of an index entry, or Portage's default for indexes without PATH
 * (`FEATURES=-binpkg-multi-instance`, xpak): `<CPV>.tbz2`.
 */
export function entryPath(entry: PackagesIndex['packages'][number]): string | undefined {
  const path = indexValue(entry, 'PATH');
  if (path) return path;
  const cpv = indexValue(entry, 'CPV');
  return cpv ? `${cpv}.tbz2` : undefined;
}

/**
 * Reads publications from the host's state dir, exactly as {@link HostLayout} lays them out; which
 * snapshot a target is published is the {@link SnapshotStore}'s to say.
 * Snapshots are immutable, so a parsed one is cached by directory.
 */
export class FsPublicationSource implements PublicationSource {
  private readonly cache = new Map<string, Publication>();
  /** The cache keys of each root, for {@link forgetRoot}. */
  private readonly cachedOf = new Map<string, Set<string>>();

  constructor(
    private readonly layout: HostLayout,
    /** The one owner of the published pointers; read through it so serving never sees a stale one. */
    private readonly snapshots: Pick<SnapshotStore, 'publishedRoot' | 'publishedId'>,
    /** Where a damaged snapshot record or index is marked (it fails only the targets of its root). */
    private readonly damage?: DamagedRecords,
  ) {}

  publishedId(target: string): number {
    return this.pointerSync(target)?.snapshotId ?? 0;
  }

  builtDigest(target: string): string {
    return this.publishedSnapshotSync(target)?.builtDigest ?? '';
  }

  publishedSnapshotSync(target: string): Snapshot | undefined {
    const pointer = this.pointerSync(target);
    if (!pointer) return undefined;
    try {
      return readSnapshotSync(this.layout, pointer.root, pointer.snapshotId);
    } catch (err) {
      // a summary of the target, not a read of the snapshot: nothing, with the damage marked
      if (!(err instanceof DamagedRecordError)) throw err;
      this.damage?.mark({ root: pointer.root }, err);
      return undefined;
    }
  }

  async published(target: string): Promise<Publication | undefined> {
    const pointer = this.pointerSync(target);
    return pointer ? this.load(pointer.root, pointer.snapshotId) : undefined;
  }

  async read(target: string, id: number): Promise<Publication | undefined> {
    const pointer = this.pointerSync(target);
    return pointer ? this.load(pointer.root, id) : undefined;
  }

  forgetRoot(root: string): void {
    for (const dir of this.cachedOf.get(root) ?? []) this.cache.delete(dir);
    this.cachedOf.delete(root);
  }

  private pointerSync(target: string): PublishedPointer | undefined {
    const root = this.snapshots.publishedRoot(target);
    const snapshotId = this.snapshots.publishedId(target);
    return root && snapshotId ? { root, snapshotId } : undefined;
  }

  private async load(root: string, id: number): Promise<Publication | undefined> {
    if (!Number.isInteger(id) || id <= 0) return undefined;
    let dir: string;
    try {
      dir = await realpath(this.layout.snapshotDir(root, id));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const cached = this.cache.get(dir);
    if (cached) return cached;
    const read = async () => {
      const snapshot = await readSnapshot(this.layout, root, id);
      const index = snapshot && (await readSnapshotIndex(this.layout, snapshot));
      return snapshot && index ? { snapshot, ...index } : undefined;
    };
    const found = await (this.damage ? this.damage.guard({ root }, read) : read());
    if (!found) return undefined;
    const paths = new Set<string>();
    for (const entry of found.index.packages) {
      const path = entryPath(entry);
      if (path) paths.add(path);
    }
    const all = await readSnapshotDigests(dir);
    const digests = new Map([...all].filter(([path]) => paths.has(path)));
    const publication: Publication = { snapshot: found.snapshot, dir, indexBytes: found.bytes, paths, digests };
    if (this.cache.size > 64) {
      this.cache.clear();
      this.cachedOf.clear();
    }
    this.cache.set(dir, publication);
    let keys = this.cachedOf.get(root);
    if (!keys) this.cachedOf.set(root, (keys = new Set()));
    keys.add(dir);
    return publication;
  }
}
