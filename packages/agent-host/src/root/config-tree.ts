import { mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix, sep } from 'node:path';
import { assertSafeRelativePath, FileKind, InvalidArgumentError, type ConfigRewrite, type FileEntry } from '@binhost/shared';
import { DROPPED_PATHS } from './scrub-rules.js';

/** Root-relative prefix of the Portage config in a state. */
export const PORTAGE_PREFIX = 'etc/portage';
/** The world files a state carries, root-relative. */
const WORLD_FILES = ['var/lib/portage/world', 'var/lib/portage/world_sets'] as const;

/** A make.conf-syntax file held back from writing so it can be rewritten first. */
export interface HeldFile {
  /** Root-relative path. */
  path: string;
  text: string;
  mode: number;
}

/** What {@link stageConfigTree} wrote and held back. */
export interface StagedTree {
  /** make.conf (or the files of a make.conf/ directory), in path order. */
  makeConf: HeldFile[];
  /** Files under etc/portage/env/. */
  envFiles: HeldFile[];
  /** World files found in the state (root-relative path → bytes). */
  world: Map<string, Uint8Array>;
  /** Relative paths present in the state (for "did the target set X" checks). */
  paths: Set<string>;
  /** Regular files by root-relative path, for package.use scans. */
  contents: Map<string, Uint8Array>;
  rewrites: ConfigRewrite[];
  warnings: string[];
}

/** `etc/portage/x/y` relative to etc/portage → `x/y`; undefined when not under it. */
function underPortage(path: string): string | undefined {
  if (path === PORTAGE_PREFIX) return '';
  return path.startsWith(`${PORTAGE_PREFIX}/`) ? path.slice(PORTAGE_PREFIX.length + 1) : undefined;
}

function isUnder(rel: string, top: string): boolean {
  return rel === top || rel.startsWith(`${top}/`);
}

/**
 * A symlink inside etc/portage is copied only when its target is relative and never climbs
 * (`package.keywords -> package.accept_keywords`): a link that only descends cannot reach
 * outside the tree however links chain, which a lexical `..` check alone would not ensure.
 */
function isSafeLink(target: string): boolean {
  if (target === '' || target.startsWith('/') || target.includes('\0')) return false;
  return !posix.normalize(target).split('/').includes('..');
}

/**
 * A make.conf that is a symlink (`make.conf -> make.conf.amd64`) is replaced by a copy of the
 * file it names, so that it is rewritten like any make.conf: otherwise `-march=native` in the
 * linked file would reach the build untouched.
 */
function materializeMakeConf(entries: readonly FileEntry[], warnings: string[]): readonly FileEntry[] {
  const path = `${PORTAGE_PREFIX}/make.conf`;
  const link = entries.find((e) => e.path === path && e.kind === FileKind.FILE_KIND_SYMLINK);
  if (!link) return entries;
  const resolved = isSafeLink(link.linkTarget) ? posix.join(PORTAGE_PREFIX, link.linkTarget) : undefined;
  const target = entries.find((e) => e.path === resolved && e.kind === FileKind.FILE_KIND_REGULAR);
  if (!target) throw new InvalidArgumentError(`${path} is a symlink to ${JSON.stringify(link.linkTarget)}, which is not a file of the state`);
  warnings.push(`${path}: a symlink to ${link.linkTarget}, copied as a file`);
  return entries.map((e) => (e === link ? { ...target, path } : e));
}

/** Makes sure `dir` resolves inside `top` before writing there. */
async function assertInside(top: string, dir: string, path: string): Promise<void> {
  const real = await realpath(dir);
  const realTop = await realpath(top);
  if (real !== realTop && !real.startsWith(realTop + sep)) throw new InvalidArgumentError(`state path ${path} resolves outside etc/portage`);
}

/**
 * Writes a target's etc/portage entries into `portageDir` (a fresh staging directory), except
 * what is held back (make.conf, env/ files: rewritten by the caller) or dropped (binrepos.conf,
 * make.profile: replaced by the host's). Paths are validated again here, though the registry
 * already did: this is the last step before they touch the disk.
 */
export async function stageConfigTree(entries: readonly FileEntry[], portageDir: string): Promise<StagedTree> {
  const staged: StagedTree = { makeConf: [], envFiles: [], world: new Map(), paths: new Set(), contents: new Map(), rewrites: [], warnings: [] };
  await mkdir(portageDir, { recursive: true, mode: 0o755 });
  const dropped = new Set<string>();
  for (const e of [...materializeMakeConf(entries, staged.warnings)].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const path = assertSafeRelativePath(e.path, 'state path');
    staged.paths.add(path);
    if ((WORLD_FILES as readonly string[]).includes(path)) {
      if (e.kind === FileKind.FILE_KIND_REGULAR) staged.world.set(path, e.content);
      else staged.warnings.push(`${path}: not a regular file, ignored`);
      continue;
    }
    const rel = underPortage(path);
    if (rel === undefined) {
      staged.warnings.push(`${path}: outside etc/portage and the world files, ignored`);
      continue;
    }
    const drop = DROPPED_PATHS.find((d) => isUnder(rel, d.path));
    if (drop) {
      if (!dropped.has(drop.path)) staged.rewrites.push({ file: `${PORTAGE_PREFIX}/${drop.path}`, key: '', before: 'present', after: '', reason: drop.reason });
      dropped.add(drop.path);
      continue;
    }
    if (isUnder(rel, 'make.profile')) {
      if (rel === 'make.profile' && e.kind !== FileKind.FILE_KIND_SYMLINK) staged.warnings.push(`${path}: a directory, replaced by a link to the host's profile`);
      continue;
    }
    if (e.kind === FileKind.FILE_KIND_REGULAR) staged.contents.set(path, e.content);
    await stageEntry(e, rel, path, portageDir, staged);
  }
  return staged;
}

async function stageEntry(e: FileEntry, rel: string, path: string, portageDir: string, staged: StagedTree): Promise<void> {
  const dest = rel === '' ? portageDir : join(portageDir, rel);
  if (rel !== '') {
    await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
    await assertInside(portageDir, dirname(dest), path);
  }
  switch (e.kind) {
    case FileKind.FILE_KIND_DIRECTORY:
      await mkdir(dest, { recursive: true, mode: (e.mode & 0o777) | 0o700 });
      return;
    case FileKind.FILE_KIND_SYMLINK:
      if (!isSafeLink(e.linkTarget)) {
        staged.warnings.push(`${path}: symlink to ${JSON.stringify(e.linkTarget)} leaves etc/portage, not copied`);
        return;
      }
      await symlink(e.linkTarget, dest);
      return;
    case FileKind.FILE_KIND_REGULAR: {
      const held = { path, text: Buffer.from(e.content).toString('utf8'), mode: e.mode & 0o777 };
      if (rel === 'make.conf' || isUnder(rel, 'make.conf')) staged.makeConf.push(held);
      else if (isUnder(rel, 'env')) staged.envFiles.push(held);
      else await writeFile(dest, e.content, { mode: e.mode & 0o777, flag: 'wx' });
      return;
    }
    default:
      staged.warnings.push(`${path}: unknown file kind, ignored`);
  }
}
