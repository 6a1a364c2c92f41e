import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertReportedFacts, collectRepoRevisions, describeSkew, TargetState, targetTreeOlder, type RepoRevision } from '@binhost/shared';

const DAY = 86_400_000;
const rev = (name: string, revision: string, at: number): RepoRevision => ({ name, revision, timestamp: new Date(at), source: revision ? 'git' : 'timestamp.chk' });

describe('repository revisions', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repos-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a git tree (HEAD and commit time) and rsync-style trees (timestamp.commit, timestamp.chk), no network', async () => {
    const git = join(dir, 'gentoo');
    await mkdir(join(git, 'profiles'), { recursive: true });
    await writeFile(join(git, 'profiles/repo_name'), 'gentoo\n');
    const env = { ...process.env, GIT_AUTHOR_DATE: '2026-11-20T10:00:00Z', GIT_COMMITTER_DATE: '2026-11-20T10:00:00Z', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
    for (const args of [['init', '-q'], ['add', '.'], ['commit', '-qm', 'tree']]) execFileSync('git', ['-C', git, ...args], { env });
    const head = execFileSync('git', ['-C', git, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const rsync = join(dir, 'guru');
    await mkdir(join(rsync, 'metadata'), { recursive: true });
    await writeFile(join(rsync, 'metadata/timestamp.commit'), `${'a'.repeat(40)} 1763805600 +0000\n`);
    const chk = join(dir, 'old');
    await mkdir(join(chk, 'metadata'), { recursive: true });
    await writeFile(join(chk, 'metadata/timestamp.chk'), 'Sat, 01 Nov 2026 00:45:01 +0000\n');
    const root = join(dir, 'root');
    await mkdir(join(root, 'etc/portage/repos.conf'), { recursive: true });
    await writeFile(join(root, 'etc/portage/repos.conf/gentoo.conf'), `[DEFAULT]\nmain-repo = gentoo\n\n[gentoo]\nlocation = ${git}\n`);
    await writeFile(join(root, 'etc/portage/repos.conf/more.conf'), `[guru]\nlocation = ${rsync}\n[old]\nlocation = ${chk}\n[missing]\nlocation = ${join(dir, 'nowhere')}\n`);

    const revs = await collectRepoRevisions(root);
    expect(revs).toEqual([
      { name: 'gentoo', revision: head, timestamp: new Date('2026-11-20T10:00:00Z'), source: 'git' },
      { name: 'guru', revision: 'a'.repeat(40), timestamp: new Date(1763805600 * 1000), source: 'timestamp.commit' },
      { name: 'missing', revision: '', timestamp: undefined, source: 'none' },
      { name: 'old', revision: '', timestamp: new Date('2026-11-01T00:45:01Z'), source: 'timestamp.chk' },
    ]);
    // what the target reports passes the host's grammar
    expect(() => assertReportedFacts(TargetState.fromPartial({ repoRevisions: revs }))).not.toThrow();
  });

  it('the host refuses a report whose revisions break the grammar', () => {
    const bad: Partial<RepoRevision>[] = [
      { name: 'gentoo;rm', source: 'git' },
      { name: 'gentoo', revision: 'HEAD~1', source: 'git' },
      { name: 'gentoo', source: 'svn' },
      { name: 'gentoo', source: 'git', timestamp: new Date(Date.now() + 10 * DAY) },
    ];
    for (const r of bad) {
      const state = TargetState.fromPartial({ repoRevisions: [{ name: '', revision: '', source: 'none', ...r }] });
      expect(() => assertReportedFacts(state), JSON.stringify(r)).toThrow(/report refused: repo_revisions\[0\]\./);
    }
    const twice = TargetState.fromPartial({ repoRevisions: [{ name: 'gentoo', source: 'none' }, { name: 'gentoo', source: 'none' }] });
    expect(() => assertReportedFacts(twice)).toThrow(/reported twice/);
  });

  it('says the skew in words, and whether the target is behind the build', () => {
    const now = Date.UTC(2026, 11, 1);
    const host = [rev('gentoo', 'a'.repeat(40), now - 3 * DAY)];
    expect(describeSkew('alpha', host, [rev('gentoo', 'b'.repeat(40), now)])).toBe("host tree is 3 days older than alpha's");
    expect(describeSkew('alpha', host, [rev('gentoo', 'b'.repeat(40), now - 5 * DAY - 3_600_000)])).toBe("host tree is 2 days newer than alpha's");
    expect(describeSkew('alpha', host, [rev('gentoo', 'a'.repeat(40), now - 3 * DAY)])).toBe('');
    expect(describeSkew('alpha', host, [])).toBe('');
    expect(targetTreeOlder(host, [rev('gentoo', 'b'.repeat(40), now - 4 * DAY)])).toBe(true);
    expect(targetTreeOlder(host, [rev('gentoo', 'b'.repeat(40), now)])).toBe(false);
  });
});
