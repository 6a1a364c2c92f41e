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
