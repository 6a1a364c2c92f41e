import { execFileSync } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Small ebuild trees as a sync leaves them, no network: a git checkout (what `emerge --sync`
 * with sync-type = git keeps) and an rsync-style tree (metadata/timestamp.commit and
 * metadata/timestamp.chk, replaced by rename as rsync does).
 */
export interface GitTree {
  dir: string;
  /** Commits a change dated `at` and returns its commit. */
  commit(at: Date): string;
}

/** A git tree with one commit dated `at`. */
export async function gitTree(dir: string, name: string, at: Date): Promise<GitTree> {
  await mkdir(join(dir, 'profiles'), { recursive: true });
  await writeFile(join(dir, 'profiles/repo_name'), `${name}\n`);
  const git = (args: string[], date?: Date) => {
    const when = date?.toISOString();
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', ...(when ? { GIT_AUTHOR_DATE: when, GIT_COMMITTER_DATE: when } : {}) };
    return execFileSync('git', ['-C', dir, ...args], { env, encoding: 'utf8' }).trim();
  };
  git(['init', '-q', '-b', 'master']);
  let n = 0;
  const commit = (date: Date) => {
    execFileSync('sh', ['-c', `echo ${++n} > "$1/profiles/sync-count"`, 'sh', dir]);
    git(['add', '.']);
    git(['commit', '-qm', `sync ${n}`], date);
    return git(['rev-parse', 'HEAD']);
  };
  commit(at);
  return { dir, commit };
}

/** Writes an rsync-style tree's timestamp files (new file, then rename, as rsync replaces them). */
export async function rsyncTree(dir: string, name: string, at: Date, commit = ''): Promise<void> {
  await mkdir(join(dir, 'profiles'), { recursive: true });
  await mkdir(join(dir, 'metadata'), { recursive: true });
  await writeFile(join(dir, 'profiles/repo_name'), `${name}\n`);
  const replace = async (file: string, text: string) => {
    await writeFile(join(dir, 'metadata', `.${file}.tmp`), text);
    await rename(join(dir, 'metadata', `.${file}.tmp`), join(dir, 'metadata', file));
  };
  if (commit) await replace('timestamp.commit', `${commit} ${Math.floor(at.getTime() / 1000)} +0000\n`);
  await replace('timestamp.chk', `${at.toUTCString()}\n`);
}

/** A repos.conf naming `repos` (name → location). */
export function reposConf(repos: Record<string, string>): string {
  return Object.entries(repos)
    .map(([name, location]) => `[${name}]\nlocation = ${location}\n`)
    .join('\n');
}
