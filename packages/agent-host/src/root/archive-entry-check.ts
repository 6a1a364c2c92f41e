import { posix } from 'node:path';
import { UnsafeArchiveEntryError } from './root-errors.js';

/** The parts of a tar entry the checks look at. */
export interface EntryHeader {
  path: string;
  type: string;
  linkpath?: string | undefined;
}

/** What to do with an entry: let node-tar extract it, create it ourselves later, or skip it. */
export type EntryDecision =
  | { action: 'extract'; path: string }
  | { action: 'defer-symlink'; path: string; target: string }
  | { action: 'skip'; path: string; reason: string };

const EXTRACTED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);
/** Device nodes and FIFOs: builds use the host's /dev (ROOT is not a chroot), so the root needs none. */
const SKIPPED_TYPES = new Set(['CharacterDevice', 'BlockDevice', 'FIFO']);

/** `./etc/` → `etc`; `./` → `` (the root itself). */
export function normalizeEntryPath(path: string): string {
  let p = path;
  while (p.startsWith('./')) p = p.slice(2);
  if (p === '.') p = '';
  while (p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

function assertInside(entry: string, rel: string, what: string): void {
  if (rel.includes('\0')) throw new UnsafeArchiveEntryError(entry, `${what} contains NUL`);
  if (rel.startsWith('/')) throw new UnsafeArchiveEntryError(entry, `${what} is absolute`);
  for (const seg of rel.split('/')) {
    if (seg === '..') throw new UnsafeArchiveEntryError(entry, `${what} has a ".." segment`);
  }
}

/**
 * Decides about one stage3 entry before anything is written. Refuses (throws
 * {@link UnsafeArchiveEntryError}) entry paths that are absolute or contain `..`, hard links
 * that point outside, and relative symlinks that climb out of the root. Absolute symlinks
 * (`etc/mtab -> /proc/self/mounts`) are normal in a stage3 and mean a path inside the root, but
 * node-tar would rewrite them to relative ones; they are deferred and created verbatim at the end.
 */
export function checkEntry(header: EntryHeader): EntryDecision {
  const path = normalizeEntryPath(header.path);
  assertInside(header.path, path, 'path');
  if (SKIPPED_TYPES.has(header.type)) return { action: 'skip', path, reason: `${header.type} not extracted` };
  if (!EXTRACTED_TYPES.has(header.type)) {
    throw new UnsafeArchiveEntryError(header.path, `unsupported entry type ${header.type}`);
  }
  if (path === '' && header.type !== 'Directory') throw new UnsafeArchiveEntryError(header.path, 'replaces the root');
  const link = header.linkpath ?? '';
  if (header.type === 'Link') {
    // Hard links name another archive member, relative to the archive's top.
    const target = normalizeEntryPath(link);
    assertInside(header.path, target, 'hard link target');
    if (target === '') throw new UnsafeArchiveEntryError(header.path, 'hard link to the root');
    return { action: 'extract', path };
  }
  if (header.type === 'SymbolicLink') {
    if (link === '') throw new UnsafeArchiveEntryError(header.path, 'empty symlink target');
    if (link.includes('\0')) throw new UnsafeArchiveEntryError(header.path, 'symlink target contains NUL');
    if (link.startsWith('/')) return { action: 'defer-symlink', path, target: link };
    const resolved = posix.normalize(posix.join(posix.dirname(path), link));
    if (resolved === '..' || resolved.startsWith('../')) {
      throw new UnsafeArchiveEntryError(header.path, `symlink to ${JSON.stringify(link)} escapes the root`);
    }
  }
  return { action: 'extract', path };
}
