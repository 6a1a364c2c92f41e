import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { errnoCode } from '@binhost/shared';

/** A regular file met while measuring: where, how big, and which inode (hard links share one). */
export interface DiskFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the directory walked. */
  rel: string;
  size: number;
  /** `dev:ino`: the same for every hard link of one file. */
  inode: string;
}

/**
 * Every regular file under `dir` (symlinks are not followed), or none when `dir` does not exist.
 * Sizes are apparent sizes (`st_size`), the figure Portage's `SIZE` and the snapshots' totals use.
 */
export async function listFiles(dir: string, filter: (rel: string) => boolean = () => true): Promise<DiskFile[]> {
  const out: DiskFile[] = [];
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const path = join(d, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.isFile()) {
        const rel = relative(dir, path);
        if (!filter(rel)) continue;
        const st = await lstat(path).catch(() => undefined); // removed meanwhile: not counted
        if (st) out.push({ path, rel, size: st.size, inode: `${st.dev}:${st.ino}` });
      }
    }
  }
  await walk(dir);
  return out;
}

/** Bytes of `files`, each inode counted once and not at all when it is in `seen` (which it joins). */
export function uniqueBytes(files: readonly DiskFile[], seen: Set<string>): number {
  let total = 0;
  for (const f of files) {
    if (seen.has(f.inode)) continue;
    seen.add(f.inode);
    total += f.size;
  }
  return total;
}

/** Whether a PKGDIR-relative path is a binary package instance (not the index, not a lock). */
export function isBinpkgPath(rel: string): boolean {
  return rel.includes('/') && /\.(gpkg\.tar|tbz2|xpak)$/.test(rel);
}
