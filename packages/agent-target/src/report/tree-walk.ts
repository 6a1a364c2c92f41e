import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, errorMessage, FileKind, isExcludedPath, type FileEntry } from '@binhost/shared';

/** Options for {@link walkTree}. */
export interface WalkOptions {
  /** The target's root directory ('/' in production). */
  root: string;
  /** Files larger than this are skipped with a warning. */
  maxFileBytes: number;
  /** Reads a file's bytes; a seam for tests that need a read to fail. @default fs.readFileSync */
  readFile?: (absPath: string) => Buffer;
}

/** What a walk found: entries (unsorted) and one warning per skipped path. */
export interface WalkResult {
  entries: FileEntry[];
  warnings: string[];
}

/**
 * Walks `rel` (a root-relative path such as "etc/portage") and records every directory, regular
 * file and symlink under it. Symlinks are recorded as links and never followed, wherever they
 * point. Excluded paths ({@link isExcludedPath}) are left out silently; FIFOs, sockets and device
 * nodes, files over the size limit, unreadable files and entries that vanish mid-walk are left out
 * with a warning naming the path. A missing `rel` gives no entries and no warning (the caller
 * decides whether that is worth one).
 *
 * The walk uses synchronous calls on purpose: a config tree is thousands of small files, and
 * the per-call cost of the promise API (a thread-pool round trip each) made a 2,000-file tree
 * take ~4 times longer; blocking the agent's event loop for those few milliseconds is harmless.
 */
export async function walkTree(rel: string, options: WalkOptions): Promise<WalkResult> {
  const result: WalkResult = { entries: [], warnings: [] };
  const pending: string[] = [rel];
  let first = true;
  while (pending.length > 0) {
    const children = visit(pending.pop()!, options, result, first);
    first = false;
    pending.push(...children);
  }
  return result;
}

/** Records one path; returns the children to visit when it is a directory. */
function visit(rel: string, options: WalkOptions, out: WalkResult, isRoot: boolean): string[] {
  const abs = join(options.root, rel);
  let st: Stats;
  try {
    st = lstatSync(abs);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      if (!isRoot) out.warnings.push(`${rel}: vanished while reading`);
      return [];
    }
    out.warnings.push(`${rel}: skipped, cannot stat (${errorMessage(err)})`);
    return [];
  }
  const mode = st.mode & 0o7777;
  if (st.isSymbolicLink()) {
    let linkTarget: string;
    try {
      linkTarget = readlinkSync(abs);
    } catch (err) {
      out.warnings.push(`${rel}: skipped, cannot read link (${errorMessage(err)})`);
      return [];
    }
    out.entries.push(entry(rel, FileKind.FILE_KIND_SYMLINK, mode, { linkTarget }));
    if (pointsOutside(rel, linkTarget)) out.warnings.push(`${rel}: symlink to ${linkTarget} leaves etc/portage; recorded as a link, target not read`);
    return [];
  }
  if (st.isDirectory()) return visitDirectory(rel, abs, mode, out);
  if (!st.isFile()) {
    out.warnings.push(`${rel}: skipped, not a regular file (${specialKind(st)})`);
    return [];
  }
  if (st.size > options.maxFileBytes) {
    out.warnings.push(`${rel}: skipped, ${st.size} bytes is over the limit of ${options.maxFileBytes} (report.max_file_bytes)`);
    return [];
  }
  try {
    const content = (options.readFile ?? readFileSync)(abs);
    // The file may have grown between lstat and read.
    if (content.length > options.maxFileBytes) {
      out.warnings.push(`${rel}: skipped, ${content.length} bytes is over the limit of ${options.maxFileBytes} (report.max_file_bytes)`);
    } else {
      out.entries.push(entry(rel, FileKind.FILE_KIND_REGULAR, mode, { content }));
    }
  } catch (err) {
    const code = errnoCode(err);
    out.warnings.push(code === 'ENOENT' ? `${rel}: vanished while reading` : `${rel}: skipped, unreadable (${errorMessage(err)})`);
  }
  return [];
}

function visitDirectory(rel: string, abs: string, mode: number, out: WalkResult): string[] {
  let raw: Buffer[];
  try {
    raw = readdirSync(abs, { encoding: 'buffer' });
  } catch (err) {
    out.warnings.push(`${rel}: skipped, unreadable directory (${errorMessage(err)})`);
    return [];
  }
  out.entries.push(entry(rel, FileKind.FILE_KIND_DIRECTORY, mode, {}));
  const names: string[] = [];
  for (const name of raw) {
    const text = name.toString('utf8');
    // Paths travel as protobuf strings; a name that does not survive UTF-8 cannot be reported.
    if (Buffer.from(text, 'utf8').equals(name)) names.push(text);
    else out.warnings.push(`${rel}/${text}: skipped, the name is not UTF-8 (hex ${name.toString('hex')})`);
  }
  return names.map((n) => `${rel}/${n}`).filter((p) => !isExcludedPath(p));
}

function entry(path: string, kind: FileKind, mode: number, rest: { content?: Buffer; linkTarget?: string }): FileEntry {
  return { path, kind, mode, content: rest.content ?? Buffer.alloc(0), linkTarget: rest.linkTarget ?? '' };
}

/**
 * True when a link under etc/portage resolves (lexically) outside etc/portage. make.profile always
 * points into a repository, so it is not worth a warning.
 */
function pointsOutside(rel: string, target: string): boolean {
  if (!rel.startsWith('etc/portage/') || rel === 'etc/portage/make.profile') return false;
  const parts = target.startsWith('/') ? target.split('/') : [...rel.split('/').slice(0, -1), ...target.split('/')];
  const resolved: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') resolved.pop();
    else resolved.push(p);
  }
  const joined = resolved.join('/');
  return joined !== 'etc/portage' && !joined.startsWith('etc/portage/');
}

function specialKind(st: Stats): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'unknown type';
}
