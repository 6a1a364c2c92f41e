import { chmod, lstat, realpath, rm, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Unpack, type ReadEntry } from 'tar';
import { checkEntry, type EntryDecision } from './archive-entry-check.js';
import { UnsafeArchiveEntryError } from './root-errors.js';
import { detectCompression, openTarStream } from './stage3-stream.js';

/** What {@link extractStage3} did. */
export interface ExtractResult {
  /** Entries written (files, dirs, links), not counting skipped ones. */
  entries: number;
  /** Entries not extracted and why (device nodes, FIFOs). */
  skipped: string[];
}

/** Modes that the process umask or a chown (which clears set-id bits) could have stripped. */
const FRAGILE_BITS = 0o7022;

/**
 * Extracts a stage3 into `dest` (an empty directory the caller owns) the way the guide's
 * `tar --extract --preserve-permissions --numeric-owner` does: numeric owners when running as
 * root, exact permission bits including set-id, absolute symlinks kept verbatim. Every entry is
 * checked first ({@link checkEntry}); the first unsafe one aborts the whole extraction with
 * {@link UnsafeArchiveEntryError}. The caller removes `dest` on failure.
 */
export async function extractStage3(file: string, dest: string, signal?: AbortSignal): Promise<ExtractResult> {
  const compression = await detectCompression(file);
  const src = openTarStream(file, compression, signal);
  const deferred: Array<{ path: string; target: string }> = [];
  const modes: Array<{ path: string; mode: number }> = [];
  const skipped: string[] = [];
  let refused: unknown;
  let entries = 0;
  const isRoot = process.getuid?.() === 0;
  const unpack = new Unpack({
    cwd: dest,
    strict: true,
    preservePaths: false,
    preserveOwner: isRoot,
    // The stage3's own modes, not masked by the daemon's umask (fixed below for the bits open() drops).
    processUmask: 0,
    maxDepth: 256,
    filter: (_path: string, entry: ReadEntry | import('node:fs').Stats) => {
      if (refused !== undefined || !('type' in entry)) return false;
      let decision: EntryDecision;
      try {
        decision = checkEntry({ path: entry.path, type: entry.type, linkpath: entry.linkpath });
      } catch (err) {
        refused = err;
        src.stop();
        return false;
      }
      if (decision.action === 'skip') {
        skipped.push(`${decision.path}: ${decision.reason}`);
        return false;
      }
      entries++;
      if (decision.action === 'defer-symlink') {
        deferred.push({ path: decision.path, target: decision.target });
        return false;
      }
      const mode = entry.mode ?? 0;
      if (entry.type !== 'SymbolicLink' && entry.type !== 'Link' && ((mode & FRAGILE_BITS) !== 0 || entry.type === 'Directory')) {
        modes.push({ path: decision.path, mode: mode & 0o7777 });
      }
      return true;
    },
  });
  try {
    await Promise.all([pipeline(src.stream, unpack), src.done]);
  } catch (err) {
    if (refused === undefined) throw asEntryError(err, dest);
  }
  if (refused !== undefined) throw refused;
  for (const link of deferred) await placeAbsoluteSymlink(dest, link.path, link.target);
  // Directories are created 0700-or-more by node-tar and files through open(), which the umask
  // and a later fchown (clearing setuid/setgid) can weaken: set the archive's bits last.
  for (const { path, mode } of modes.reverse()) {
    if (path === '') await chmod(dest, mode);
    else await chmod(join(dest, path), mode);
  }
  return { entries, skipped };
}

/**
 * Creates `path -> target` inside `dest` after everything else, when no later entry can use
 * it as a directory. Its parent must resolve inside `dest` (an earlier symlink could point the
 * parent at the host's own filesystem).
 */
async function placeAbsoluteSymlink(dest: string, path: string, target: string): Promise<void> {
  const at = join(dest, path);
  const realDest = await realpath(dest);
  const parent = await realpath(dirname(at)).catch(() => undefined);
  if (parent === undefined || (parent !== realDest && !parent.startsWith(realDest + sep))) {
    throw new UnsafeArchiveEntryError(path, 'its parent directory resolves outside the root');
  }
  const placed = join(parent, basename(path));
  const existing = await lstat(placed).catch(() => undefined);
  if (existing?.isDirectory()) await rm(placed, { recursive: true });
  else if (existing) await unlink(placed);
  await symlink(target, placed);
}

/**
 * node-tar's own refusals in strict mode (`TAR_SYMLINK_ERROR`: writing through a symlink,
 * `TAR_ENTRY_ERROR`: a path it will not write) as our typed error; other errors unchanged.
 */
function asEntryError(err: unknown, dest: string): unknown {
  if (typeof err !== 'object' || err === null || !('tarCode' in err)) return err;
  const e = err as { tarCode: unknown; message: string; path?: unknown; entry?: { path?: unknown } };
  const where = typeof e.entry?.path === 'string' ? e.entry.path : typeof e.path === 'string' ? e.path.replace(`${dest}/`, '') : '?';
  const u = new UnsafeArchiveEntryError(where, `${String(e.tarCode)}: ${e.message.replace(`${dest}/`, '')}`);
  u.cause = err;
  return u;
}
