import { existsSync, readFileSync } from 'node:fs';
import { collectRepoRevisions, indexValue, readRepoRevision, type PackagesIndex, type RepoRevision } from '@binhost/shared';

/**
 * The host's repository revisions for a build in a root: each repository of the root's repos.conf
 * as the host has it (its git HEAD or timestamp files; a location the host lacks is read from
 * `build.repository` for `gentoo`), with the commit Portage wrote into the index (`REPO_REVISIONS`,
 * Portage ≥ 3.0.65, from its last `emaint sync`) winning over what the tree says now.
 */
export async function hostRepoRevisions(rootDir: string, repository: string, index: PackagesIndex | undefined): Promise<RepoRevision[]> {
  const revs = await collectRepoRevisions(rootDir);
  if (!revs.some((r) => r.name === 'gentoo') && existsSync(repository)) {
    const name = readRepoName(repository);
    if (name && !revs.some((r) => r.name === name)) revs.push(...(await collectRepoRevisionsAt(name, repository)));
  }
  for (const [name, commit] of Object.entries(portageRevisions(index))) {
    const r = revs.find((x) => x.name === name);
    if (r && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit) && r.revision !== commit) Object.assign(r, { revision: commit, source: 'portage', timestamp: r.revision ? undefined : r.timestamp });
  }
  return revs;
}

async function collectRepoRevisionsAt(name: string, location: string): Promise<RepoRevision[]> {
  return [await readRepoRevision(name, location)];
}

function readRepoName(location: string): string | undefined {
  try {
    return readFileSync(`${location}/profiles/repo_name`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** `REPO_REVISIONS` (a JSON object, repository → commit) of the index's header or newest entry. */
function portageRevisions(index: PackagesIndex | undefined): Record<string, string> {
  for (const block of [index?.header ?? [], ...[...(index?.packages ?? [])].reverse()]) {
    const raw = indexValue(block, 'REPO_REVISIONS');
    if (!raw) continue;
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
      }
    } catch {
      // not JSON: Portage's own field, read as absent
    }
  }
  return {};
}

/** "3 days", "5 hours", "12 minutes". */
function span(ms: number): string {
  const units: [number, string][] = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute']];
  for (const [size, word] of units) {
    const n = Math.floor(ms / size);
    if (n >= 1) return `${n} ${word}${n === 1 ? '' : 's'}`;
  }
  return 'less than a minute';
}

/** How one repository differs: negative when the host's tree is older than the target's. */
export interface RepoSkew {
  name: string;
  /** host time − target time, ms; undefined when either time is unknown. */
  deltaMs: number | undefined;
  differs: boolean;
}

/** Repositories both sides have, and whether and by how much their revisions differ. */
function repoSkews(host: readonly RepoRevision[], target: readonly RepoRevision[]): RepoSkew[] {
  const out: RepoSkew[] = [];
  for (const h of host) {
    const t = target.find((x) => x.name === h.name);
    if (!t) continue;
    const deltaMs = h.timestamp && t.timestamp ? h.timestamp.getTime() - t.timestamp.getTime() : undefined;
    const differs = h.revision && t.revision ? h.revision !== t.revision : deltaMs !== undefined && Math.abs(deltaMs) >= 60_000;
    out.push({ name: h.name, deltaMs, differs });
  }
  return out;
}

/** The skew in words, for `status`: "host tree is 3 days older than alpha's"; '' when none is known. */
export function describeSkew(target: string, host: readonly RepoRevision[], targetRevs: readonly RepoRevision[]): string {
  const words = repoSkews(host, targetRevs)
    .filter((s) => s.differs)
    .map((s) => {
      const what = s.name === 'gentoo' ? 'host tree' : `host ${s.name} tree`;
      if (s.deltaMs === undefined || Math.abs(s.deltaMs) < 60_000) return `${what} is at another revision than ${target}'s`;
      return `${what} is ${span(Math.abs(s.deltaMs))} ${s.deltaMs < 0 ? 'older' : 'newer'} than ${target}'s`;
    });
  return words.join('; ');
}

/** Whether the target's tree is older than the build's in any repository both have. */
export function targetTreeOlder(host: readonly RepoRevision[], targetRevs: readonly RepoRevision[]): boolean {
  return repoSkews(host, targetRevs).some((s) => s.differs && s.deltaMs !== undefined && s.deltaMs >= 60_000);
}
