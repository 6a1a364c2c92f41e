import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, type RepoRevision } from '@binhost/shared';
import { collectTargetState } from '@binhost/agent-target';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import { waitFor } from './helpers/wait-for.js';
import { gitTree, reposConf, rsyncTree } from './helpers/ebuild-trees.js';

const HOUR = 3_600_000;

describe('repository revisions re-reported when a tree syncs', () => {
  const h = useHarness();
  let host: StartedHost;

  beforeEach(async () => {
    host = await h.startHost();
  });

  const revOf = (name: string): RepoRevision | undefined => host.daemon.registry.repoRevisionsOf('alpha').find((r) => r.name === name);

  it('sends the new revision of a git tree (new commit) and of rsync trees (timestamp files) with no etc/portage change', async () => {
    const repos = join(h.dir, 'repos');
    const t0 = new Date(Date.now() - 72 * HOUR);
    const gentoo = await gitTree(join(repos, 'gentoo'), 'gentoo', t0);
    await rsyncTree(join(repos, 'guru'), 'guru', t0, 'a'.repeat(40));
    await rsyncTree(join(repos, 'local'), 'local', t0);
    const root = join(h.dir, 'alpha/root');
    await mkdir(join(root, 'etc/portage'), { recursive: true });
    await writeFile(join(root, 'etc/portage/make.conf'), 'CFLAGS="-O2"\n');
    await writeFile(join(root, 'etc/portage/repos.conf'), reposConf({ gentoo: gentoo.dir, guru: join(repos, 'guru'), local: join(repos, 'local') }));
    const collect = () => collectTargetState({ root, maxFileBytes: 1 << 20, log: silentLogger(), runCompiler: async () => ({ exitCode: 1, output: 'no compiler here' }) });
    await h.startTarget({ name: 'alpha', address: host.address, collectState: collect, extra: '[report]\ndebounce_ms = 50\n' });
    const digest = await waitFor(() => revOf('gentoo')?.source === 'git' && host.daemon.registry.currentDigest('alpha'), { what: 'the first report' });
    expect(revOf('guru')).toMatchObject({ revision: 'a'.repeat(40), source: 'timestamp.commit' });
    expect(revOf('local')?.timestamp?.getTime()).toBe(Math.floor(t0.getTime() / 1000) * 1000);

    // git: `emerge --sync` fetched and moved the branch (a new commit, a ref rewritten by rename)
    const t1 = new Date(Date.now() - HOUR);
    const head = gentoo.commit(t1);
    await waitFor(() => revOf('gentoo')?.revision === head, { what: 'the new git HEAD at the host' });
    expect(revOf('gentoo')?.timestamp?.getTime()).toBe(Math.floor(t1.getTime() / 1000) * 1000);

    // rsync: new timestamp.commit and timestamp.chk replaced by rename
    await rsyncTree(join(repos, 'guru'), 'guru', t1, 'b'.repeat(40));
    await waitFor(() => revOf('guru')?.revision === 'b'.repeat(40), { what: 'the new timestamp.commit at the host' });
    await rsyncTree(join(repos, 'local'), 'local', t1);
    await waitFor(() => revOf('local')?.timestamp?.getTime() === Math.floor(t1.getTime() / 1000) * 1000, { what: 'the new timestamp.chk at the host' });

    // the config did not change: the host stored no new state (and so started no build)
    expect(host.daemon.registry.currentDigest('alpha')).toBe(digest);

    // a restarted host still knows them (kept in the target's record), before the target is back
    const port = host.port;
    await host.stop();
    host = await h.startHost({ port });
    expect(revOf('gentoo')?.revision).toBe(head);
    expect(revOf('guru')?.revision).toBe('b'.repeat(40));
  });

  it('watches a repository repos.conf names only after a config change, and a tree synced for the first time', async () => {
    const repos = join(h.dir, 'repos');
    const root = join(h.dir, 'alpha/root');
    await mkdir(join(root, 'etc/portage'), { recursive: true });
    await writeFile(join(root, 'etc/portage/make.conf'), 'CFLAGS="-O2"\n');
    const collect = () => collectTargetState({ root, maxFileBytes: 1 << 20, log: silentLogger(), runCompiler: async () => ({ exitCode: 1, output: 'no compiler here' }) });
    await h.startTarget({ name: 'alpha', address: host.address, collectState: collect, extra: '[report]\ndebounce_ms = 50\n' });
    await waitFor(() => host.daemon.registry.currentDigest('alpha'), { what: 'the first report' });
    expect(host.daemon.registry.repoRevisionsOf('alpha')).toEqual([]);

    // the admin adds an overlay whose tree is not there yet: reported as source none
    await writeFile(join(root, 'etc/portage/repos.conf'), reposConf({ guru: join(repos, 'guru') }));
    await waitFor(() => revOf('guru')?.source === 'none', { what: 'the new repository, not synced yet' });
    // its first sync creates the tree
    const t1 = new Date(Date.now() - HOUR);
    await rsyncTree(join(repos, 'guru'), 'guru', t1, 'c'.repeat(40));
    await waitFor(() => revOf('guru')?.revision === 'c'.repeat(40), { what: 'the first sync of the new tree' });
  });
});
