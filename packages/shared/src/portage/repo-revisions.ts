import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../exec/run-command.js';
import type { RepoRevision } from '../api.js';

/**
 * The repositories of a repos.conf (a file, or a directory of files read in name order, as
 * Portage reads it): section name → location. `[DEFAULT]` and sections without a location are
 * left out; a later section of the same name wins, as in Portage.
 */
export async function readReposConf(configRoot: string): Promise<Map<string, string>> {
  const path = join(configRoot, 'etc/portage/repos.conf');
  const st = await stat(path).catch(() => undefined);
  const files = !st ? [] : st.isDirectory() ? (await readdir(path)).filter((n) => !n.startsWith('.') && !n.endsWith('~')).sort().map((n) => join(path, n)) : [path];
  const repos = new Map<string, string>();
  for (const f of files) {
    const text = await readFile(f, 'utf8').catch(() => '');
    let section = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#') || line.startsWith(';')) continue;
      const head = /^\[([^\]]+)\]$/.exec(line);
      if (head) section = head[1]!.trim();
      else if (section && section !== 'DEFAULT') {
        const kv = /^location\s*[=:]\s*(.*)$/.exec(line);
        if (kv) repos.set(section, kv[1]!.trim());
      }
    }
  }
  return repos;
}

/**
 * The revision of the tree at `location`: its git HEAD and commit time when it is a git checkout;
 * else `metadata/timestamp.commit` (`<commit> <unix time> …`, what Gentoo's rsync trees carry),
 * else `metadata/timestamp.chk` (an RFC 2822 date: the time the tree was generated).
 */
export async function readRepoRevision(name: string, location: string): Promise<RepoRevision> {
  const none: RepoRevision = { name, revision: '', timestamp: undefined, source: 'none' };
  if (await stat(join(location, '.git')).catch(() => undefined)) {
    // safe.directory: the tree is owned by portage, the agent runs as root (git refuses such trees otherwise)
    const r = await runCommand({ file: 'git', args: ['-c', 'safe.directory=*', '-C', location, 'log', '-1', '--format=%H %ct'], check: false }).catch(() => undefined);
    const m = r?.exitCode === 0 ? /^([0-9a-f]{40}|[0-9a-f]{64}) (\d+)$/.exec(r.tail.at(-1)?.trim() ?? '') : null;
    if (m) return { name, revision: m[1]!, timestamp: new Date(Number(m[2]) * 1000), source: 'git' };
  }
  const commit = await readFile(join(location, 'metadata/timestamp.commit'), 'utf8').catch(() => undefined);
  const c = commit ? /^([0-9a-f]{40}|[0-9a-f]{64})\s+(\d{9,11})\b/.exec(commit.trim()) : null;
  if (c) return { name, revision: c[1]!, timestamp: new Date(Number(c[2]) * 1000), source: 'timestamp.commit' };
  const chk = await readFile(join(location, 'metadata/timestamp.chk'), 'utf8').catch(() => undefined);
  const t = chk ? Date.parse(chk.trim()) : NaN;
  if (!Number.isNaN(t)) return { name, revision: '', timestamp: new Date(t), source: 'timestamp.chk' };
  return none;
}

/** The revision of every repository in the root's repos.conf, in name order. */
export async function collectRepoRevisions(configRoot: string): Promise<RepoRevision[]> {
  const repos = await readReposConf(configRoot);
  const out: RepoRevision[] = [];
  for (const [name, location] of [...repos].sort(([a], [b]) => a.localeCompare(b))) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(name)) continue; // Portage ignores such a section too
    out.push(await readRepoRevision(name, location));
  }
  return out;
}
