import type { RepoRevision } from '../api.js';

// How a target's ebuild trees compare with the trees a snapshot was built from. Shared: the host
// shows the skew (status) and refuses to publish on it (repos.skew_policy = "refuse"); the target
// holds an install on it ("hold"), comparing its trees as they are at that moment.

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
