import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite, errnoCode, Snapshot } from '@binhost/shared';
import { mirrorEntries, type MirrorEntry } from './index-entries.js';

/** A snapshot whose every file is in the mirror. */
export interface MirroredSnapshot {
  readonly snapshot: Snapshot;
  readonly indexBytes: Buffer;
  readonly entries: readonly MirrorEntry[];
  /** PATH → entry, for the HTTP endpoint. */
  readonly byPath: ReadonlyMap<string, MirrorEntry>;
}

/**
 * The target's mirror on disk, under `<state_dir>/mirror/`:
 *
 * ```
 * objects/<sha1|md5>-<hex>-<size>   verified files, named by content (shared between snapshots)
 * partial/<key>.part                downloads in progress (never served, never counted)
 * snapshots/<id>/Packages           an index, written only once every file it names is in objects/
 * snapshots/<id>/snapshot.json
 * current.json                      {"snapshotId"}: the index the loopback endpoint serves
 * installed.json                    {"snapshotId"}: the last snapshot installed successfully
 * ```
 */
export class MirrorStore {
  private current: MirroredSnapshot | undefined;

  constructor(readonly dir: string) {}

  objectPath(key: string): string {
    return join(this.dir, 'objects', key);
  }
  partialPath(key: string): string {
    return join(this.dir, 'partial', `${key}.part`);
  }
  private snapshotDir(id: number): string {
    return join(this.dir, 'snapshots', String(id));
  }

  async ensureDirs(): Promise<void> {
    for (const d of ['objects', 'partial', 'snapshots']) await mkdir(join(this.dir, d), { recursive: true, mode: 0o755 });
  }

  /** True when the verified object for `entry` is in place. */
  async holds(entry: MirrorEntry): Promise<boolean> {
    try {
      return (await stat(this.objectPath(entry.key))).size === entry.size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * Makes a snapshot visible: its index is written after the caller placed every file, then
   * `current.json` is switched. Each step is an atomic rename, so a crash leaves the old index.
   */
  async commit(snapshot: Snapshot, indexBytes: Buffer): Promise<MirroredSnapshot> {
    const dir = this.snapshotDir(snapshot.id);
    await atomicWrite(join(dir, 'snapshot.json'), JSON.stringify(Snapshot.toJSON(snapshot)) + '\n', { mkdirs: true });
    await atomicWrite(join(dir, 'Packages'), indexBytes);
    await atomicWrite(join(this.dir, 'current.json'), JSON.stringify({ snapshotId: snapshot.id }) + '\n');
    this.current = loaded(snapshot, indexBytes);
    return this.current;
  }

  /** The snapshot the endpoint serves, loaded from disk on first use. */
  async served(): Promise<MirroredSnapshot | undefined> {
    if (this.current) return this.current;
    const id = await this.pointer('current.json');
    this.current = id ? await this.load(id) : undefined;
    return this.current;
  }

  /** The last installed snapshot id, 0 if none. */
  async installedId(): Promise<number> {
    return this.pointer('installed.json');
  }

  async markInstalled(id: number): Promise<void> {
    await atomicWrite(join(this.dir, 'installed.json'), JSON.stringify({ snapshotId: id }) + '\n', { mkdirs: true });
  }

  /** Reads a committed snapshot, or undefined when it is not in the mirror. */
  async load(id: number): Promise<MirroredSnapshot | undefined> {
    try {
      const dir = this.snapshotDir(id);
      const snapshot = Snapshot.fromJSON(JSON.parse(await readFile(join(dir, 'snapshot.json'), 'utf8')));
      return loaded(snapshot, await readFile(join(dir, 'Packages')));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * Removes every snapshot but the served and the installed one, and every object and partial
   * download no kept snapshot names.
   */
  async collectGarbage(): Promise<{ removedSnapshots: number; removedFiles: number }> {
    const keep = new Set([await this.pointer('current.json'), await this.pointer('installed.json')].filter((n) => n > 0));
    const keys = new Set<string>();
    let removedSnapshots = 0;
    let removedFiles = 0;
    for (const name of await list(join(this.dir, 'snapshots'))) {
      if (keep.has(Number(name))) {
        for (const e of (await this.load(Number(name)))?.entries ?? []) keys.add(e.key);
      } else {
        await rm(this.snapshotDir(Number(name)), { recursive: true, force: true });
        removedSnapshots++;
      }
    }
    for (const name of await list(join(this.dir, 'objects'))) {
      if (!keys.has(name)) (await rm(this.objectPath(name), { force: true }), removedFiles++);
    }
    for (const name of await list(join(this.dir, 'partial'))) {
      await rm(join(this.dir, 'partial', name), { force: true });
      removedFiles++;
    }
    return { removedSnapshots, removedFiles };
  }

  private async pointer(file: string): Promise<number> {
    try {
      const id = (JSON.parse(await readFile(join(this.dir, file), 'utf8')) as { snapshotId?: unknown }).snapshotId;
      return typeof id === 'number' && Number.isInteger(id) && id > 0 ? id : 0;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return 0;
      throw err;
    }
  }
}

function loaded(snapshot: Snapshot, indexBytes: Buffer): MirroredSnapshot {
  const entries = mirrorEntries(indexBytes.toString('utf8'), `snapshot ${snapshot.id} Packages`);
  return { snapshot, indexBytes, entries, byPath: new Map(entries.map((e) => [e.path, e])) };
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}
