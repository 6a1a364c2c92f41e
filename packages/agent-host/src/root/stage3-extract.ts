import type { Stats } from 'node:fs';
import { chmod, lstat, realpath, rmdir, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Unpack, type ReadEntry } from 'tar';
import { checkEntry, type EntryDecision } from './archive-entry-check.js';
import { UnsafeArchiveEntryError } from './root-errors.js';
import { detectCompression, openTarStream } from './stage3-stream.js';
import { TarXattrScanner } from './tar-xattr-scan.js';
import { restoreXattrs } from './xattr-restore.js';
import { InvalidArgumentError, type CommandRunner } from '@binhost/shared';

/** What {@link extractStage3} did. */
export interface ExtractResult {
  /** Entries written (files, dirs, links), not counting skipped ones. */
  entries: number;
  /** Entries not extracted and why (device nodes, FIFOs), and xattrs not restored. */
  skipped: string[];
}

/** Options of {@link extractStage3}. */
export interface ExtractOptions {
  /** Runs setfattr for the archive's extended attributes. */
  runner: CommandRunner;
  signal?: AbortSignal | undefined;
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
export async function extractStage3(file: string, dest: string, options: ExtractOptions): Promise<ExtractResult> {
  const compression = await detectCompression(file);
  const src = openTarStream(file, compression, options.signal);
  const scanner = new TarXattrScanner();
  // Absolute symlinks by path, in archive order; a later member of the same path replaces one.
  const deferred = new Map<string, string>();
  const extracted = new Set<string>();
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
    filter: (_path: string, entry: ReadEntry | Stats) => {
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
      try {
        checkNotUnderDeferred(decision.path, deferred);
      } catch (err) {
        refused = err;
        src.stop();
        return false;
      }
      entries++;
      deferred.delete(decision.path);
      if (decision.action === 'defer-symlink') {
        deferred.set(decision.path, decision.target);
        return false;
      }
      if (entry.type !== 'SymbolicLink') extracted.add(decision.path);
      const mode = entry.mode ?? 0;
      if (entry.type !== 'SymbolicLink' && entry.type !== 'Link' && ((mode & FRAGILE_BITS) !== 0 || entry.type === 'Directory')) {
        modes.push({ path: decision.path, mode: mode & 0o7777 });
      }
      return true;
    },
  });
  const piping = pipeline(src.stream, scanner, unpack).catch((err: unknown) => {
    src.stop();
    throw err;
  });
  const [piped, decompressed] = await Promise.allSettled([piping, src.done]);
  if (refused !== undefined) throw refused;
  // A failing decompressor (corrupt or truncated input) explains whatever node-tar saw after it.
  if (decompressed.status === 'rejected') throw decompressed.reason;
  if (piped.status === 'rejected') throw asEntryError(piped.reason, dest);
  // Attributes and modes first, while no deferred (absolute) link exists that a path could
  // lead through; lstat skips a path a later member turned into a link. Links come last.
  const xattrWarning = await restoreXattrs(options.runner, dest, scanner.members.filter((m) => extracted.has(m.path)));
  if (xattrWarning) skipped.push(xattrWarning);
  // Directories are created 0700-or-more by node-tar and files through open(), which the umask
  // and a later fchown (clearing setuid/setgid) can weaken: set the archive's bits last.
  for (const { path, mode } of modes.reverse()) {
    const at = path === '' ? dest : join(dest, path);
    if ((await lstat(at)).isSymbolicLink()) continue;
    await chmod(at, mode);
  }
  for (const [path, target] of deferred) await placeAbsoluteSymlink(dest, path, target);
  return { entries, skipped };
}

/**
 * Refuses a member below a pending absolute symlink (`lib -> /usr/lib`, then `lib/x`): GNU tar
 * leaves a placeholder there and fails too; writing it would land outside once the link exists.
 */
function checkNotUnderDeferred(path: string, deferred: Map<string, string>): void {
  if (deferred.size === 0) return;
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const ancestor = parts.slice(0, i).join('/');
    if (deferred.has(ancestor)) throw new UnsafeArchiveEntryError(path, `lies below the absolute symlink ${ancestor} -> ${deferred.get(ancestor)}`);
  }
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
  if (existing?.isDirectory()) {
    // An earlier directory member: tar would not replace a non-empty one either.
    await rmdir(placed).catch((err: unknown) => {
      throw new UnsafeArchiveEntryError(path, `symlink would replace a non-empty directory (${(err as Error).message})`);
    });
  } else if (existing) await unlink(placed);
  await symlink(target, placed);
}

/**
 * node-tar's own refusals in strict mode (`TAR_SYMLINK_ERROR`: writing through a symlink,
 * `TAR_ENTRY_ERROR`: a path it will not write) as our typed error; other errors unchanged.
 */
function asEntryError(err: unknown, dest: string): unknown {
  if (typeof err !== 'object' || err === null || !('tarCode' in err)) return err;
  const e = err as { tarCode: unknown; message: string; path?: unknown; entry?: { path?: unknown } };
  if (e.tarCode !== 'TAR_ENTRY_ERROR' && e.tarCode !== 'TAR_SYMLINK_ERROR') {
    const bad = new InvalidArgumentError(`the stage3 is not a valid tar archive: ${String(e.tarCode)}: ${e.message}`);
    bad.cause = err;
    return bad;
  }
  const where = typeof e.entry?.path === 'string' ? e.entry.path : typeof e.path === 'string' ? e.path.replace(`${dest}/`, '') : '?';
  const u = new UnsafeArchiveEntryError(where, `${String(e.tarCode)}: ${e.message.replace(`${dest}/`, '')}`);
  u.cause = err;
  return u;
}
