import { indexValue, type IndexEntry, type PackagesIndex } from '@binhost/shared';
import type { DiskFile } from './disk-files.js';

/** Which binpkg instances of a PKGDIR stay, and which go. */
export interface RetentionPlan {
  /** PKGDIR-relative paths kept. */
  keep: Set<string>;
  /** Instance files removed (not named by a kept snapshot, not the newest of their kind). */
  remove: DiskFile[];
}

/** The PATH of an index entry (Portage without binpkg-multi-instance stores `CPV.tbz2`). */
export function entryPath(entry: IndexEntry): string {
  return indexValue(entry, 'PATH') ?? `${indexValue(entry, 'CPV') ?? ''}.tbz2`;
}

/** Orders instances of one package: the higher BUILD_ID, then the later BUILD_TIME, is newer. */
export function newerFirst(a: IndexEntry, b: IndexEntry): number {
  const num = (e: IndexEntry, k: string) => Number(indexValue(e, k) ?? 0) || 0;
  return num(b, 'BUILD_ID') - num(a, 'BUILD_ID') || num(b, 'BUILD_TIME') - num(a, 'BUILD_TIME');
}

/**
 * Retention of one root's PKGDIR. An instance stays when
 *  - a kept snapshot names it (`named`: those snapshots are what targets install and can roll back
 *    to; the file is a hard link there anyway, so removing it from PKGDIR would free nothing), or
 *  - it is the newest instance of its CPV *with its USE*: what `--usepkg` needs so that the next
 *    build, or a USE flag switched back, takes the binpkg instead of compiling again.
 * Every other instance goes, and so does every instance file the index does not list (the empty
 * file a failed signed build reserved, the leftovers of an interrupted build).
 */
export function planRetention(index: PackagesIndex | undefined, files: readonly DiskFile[], named: ReadonlySet<string>): RetentionPlan {
  const keep = new Set<string>();
  const newest = new Map<string, IndexEntry>();
  for (const entry of [...(index?.packages ?? [])].sort(newerFirst)) {
    const kind = `${indexValue(entry, 'CPV') ?? ''}\0${(indexValue(entry, 'USE') ?? '').split(/\s+/).sort().join(' ')}`;
    if (!newest.has(kind)) newest.set(kind, entry);
  }
  for (const entry of newest.values()) keep.add(entryPath(entry));
  for (const p of named) keep.add(p);
  return { keep, remove: files.filter((f) => !keep.has(f.rel)) };
}
