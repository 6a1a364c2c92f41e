import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildStatus, callUnary, type Build, type OpenEventsResponse } from '@binhost/shared';
import { tmpTree } from './helpers/tmp-tree.js';
import { makePki, type TestPki } from './helpers/pki.js';
import { clientsFor } from './helpers/clients.js';
import { waitFor } from './helpers/wait-for.js';
import { treeSnapshot } from './helpers/tree-snapshot.js';
import { cli, makeState, startBuildHost, targetClient, type BuildHost } from './helpers/build-host.js';

type Admin = Awaited<ReturnType<typeof clientsFor>>['admin'];
const finishedEvents = (events: OpenEventsResponse[]): Build[] =>
  events.flatMap((e) => (e.event?.$case === 'buildFinished' ? [e.event.value] : []));

describe('automatic builds', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let pki: TestPki;
  let host: BuildHost | undefined;
  let closers: (() => Promise<void> | void)[];

  beforeEach(async () => {
    tmp = await tmpTree();
    pki = await makePki(`${tmp.dir}/pki`);
    closers = [];
  });
  afterEach(async () => {
    for (const c of closers.reverse()) await c();
    await host?.stop();
    host = undefined;
    await tmp.cleanup();
  });

  async function setUp(extra?: { emerge?: string[]; extra?: string }) {
    host = await startBuildHost({ dir: `${tmp.dir}/host`, pki, ...extra });
    const target = await targetClient(pki, host.address);
    const admin = await clientsFor(pki, host.address, 'admin', 'root');
    closers.push(() => target.close(), () => admin.close());
    return { host, target, admin: admin.admin };
  }
  const builds = async (admin: Admin) => (await callUnary(admin.listBuilds.bind(admin), { target: 'alpha', limit: 0 })).builds;
  const ended = (b: Build | undefined) => b && b.status !== BuildStatus.BUILD_STATUS_RUNNING && b.status !== BuildStatus.BUILD_STATUS_QUEUED;

  it('turns a new state into apply → signed build → published snapshot, and tells the target', async () => {
    const { host, target, admin } = await setUp();
    await host.control({ packages: ['app-misc/hello-1.0', 'app-misc/greet-1.0'] });
    const state = makeState('CFLAGS="-O2 -march=znver3"\n');
    await target.report(state);
    const build = await waitFor(async () => {
      const [b] = await builds(admin);
      return ended(b) ? b : undefined;
    }, { what: 'the automatic build' });
    expect(build).toMatchObject({ status: BuildStatus.BUILD_STATUS_SUCCEEDED, configDigest: state.digest, snapshotId: 1, args: ['--update', '--deep', '--newuse', '--usepkg', '@world'] });
    expect(host.applied).toEqual([state.digest]);
    expect(await readFile(join(host.stateDir, 'roots/alpha/etc/portage/make.conf'), 'utf8')).toContain('-march=znver3');
    const [run] = await host.runs();
    const root = join(host.stateDir, 'roots', 'alpha');
    expect(run?.args).toEqual(['--buildpkg', '--root-deps', '--update', '--deep', '--newuse', '--usepkg', '@world']);
    const key = (await callUnary(admin.getSigningKey.bind(admin), {})).key;
    expect(run?.env).toEqual({
      ROOT: `${root}/`,
      PORTAGE_CONFIGROOT: `${root}/`,
      PKGDIR: `${root}/var/cache/binpkgs/`,
      FEATURES: 'binpkg-signing',
      BINPKG_FORMAT: 'gpkg',
      BINPKG_GPG_SIGNING_GPG_HOME: join(host.stateDir, 'signing'),
      BINPKG_GPG_SIGNING_KEY: key?.fingerprint,
      BINPKG_GPG_VERIFY_GPG_HOME: join(host.stateDir, 'signing', 'verify'),
    });
    const targetKey = (await callUnary(target.client.getSigningKey.bind(target.client), {})).key;
    expect(targetKey?.fingerprint).toBe(key?.fingerprint);
    expect(targetKey?.armoredPublicKey).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    const snapDir = join(host.stateDir, 'roots', 'alpha.meta', 'snapshots', '1');
    expect((await readdir(snapDir)).sort()).toEqual(['Packages', 'app-misc', 'snapshot.json']);
    expect(await readFile(join(snapDir, 'Packages'), 'utf8')).toContain('PATH: app-misc/greet/greet-1.0-1.gpkg.tar');
    expect(JSON.parse(await readFile(join(host.stateDir, 'targets/alpha/published.json'), 'utf8'))).toEqual({ root: 'alpha', snapshotId: 1 });
    await waitFor(() => target.events.some((e) => e.event?.$case === 'snapshotPublished'), { what: 'snapshot_published event' });
    const kinds = target.events.map((e) => e.event?.$case);
    expect(kinds.indexOf('buildQueued')).toBeLessThan(kinds.indexOf('buildStarted'));
    expect(kinds.indexOf('buildStarted')).toBeLessThan(kinds.indexOf('buildFinished'));
    const summary = (await callUnary(admin.listTargets.bind(admin), {})).targets.find((t) => t.name === 'alpha');
    expect(summary).toMatchObject({ publishedSnapshotId: 1, builtDigest: state.digest, lastBuildStatus: BuildStatus.BUILD_STATUS_SUCCEEDED, lastError: '' });
  });

  it('keeps the last good publication when a build fails, and tells the target and the CLI why', async () => {
    const { host, target, admin } = await setUp();
    await target.report(makeState('A=1\n'));
    await waitFor(async () => (await builds(admin))[0]?.status === BuildStatus.BUILD_STATUS_SUCCEEDED, { what: 'first build' });
    const snapshots = join(host.stateDir, 'roots', 'alpha.meta', 'snapshots');
    const before = await treeSnapshot(snapshots);
    await host.control({ packages: ['app-misc/hello-1.0', 'app-misc/broken-1.0'], fail: 'app-misc/broken-1.0' });
    await target.report(makeState('A=2\n'));
    const failed = await waitFor(async () => {
      const [b] = await builds(admin);
      return b?.id === 2 && ended(b) ? b : undefined;
    }, { what: 'the failing build' });
    expect(failed.status).toBe(BuildStatus.BUILD_STATUS_FAILED);
    expect(failed.error).toMatch(/^app-misc\/broken-1\.0 failed \(compile phase\): emerge exited with 1 \(last line: >>> Failed to emerge app-misc\/broken-1\.0/);
    expect(failed.logTail.join('\n')).toContain('ERROR: app-misc/broken-1.0::gentoo failed (compile phase)');
    expect(await treeSnapshot(snapshots)).toEqual(before);
    expect(JSON.parse(await readFile(join(host.stateDir, 'targets/alpha/published.json'), 'utf8')).snapshotId).toBe(1);
    const event = await waitFor(() => finishedEvents(target.events).find((b) => b.id === 2), { what: 'build_finished for build 2' });
    expect(event.error).toBe(failed.error);
    expect(event.logTail.length).toBeGreaterThan(0);
    const summary = await waitFor(async () => (await callUnary(admin.listTargets.bind(admin), {})).targets.find((t) => t.name === 'alpha' && t.lastError));
    expect(summary.lastError).toBe(`build 2 failed: ${failed.error}`);
    expect(summary.publishedSnapshotId).toBe(1);
    const shown = await cli(pki, tmp.dir, host.address, ['builds', 'alpha']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^2\s+alpha\s+failed\s+auto\s+.*app-misc\/broken-1\.0 failed \(compile phase\)/m);
    expect(shown.stdout).toMatch(/^1\s+alpha\s+succeeded\s+auto\s+.*snapshot 1$/m);
  });

  it('refuses a state whose native flags are unknown, without building', async () => {
    const { host, target, admin } = await setUp();
    await target.report(makeState('A=1\n', false));
    const summary = await waitFor(async () => (await callUnary(admin.listTargets.bind(admin), {})).targets.find((t) => t.name === 'alpha' && t.lastError));
    expect(summary.lastError).toMatch(/^not built: the target's -march=native is unknown \(gcc: not found\)/);
    expect(await builds(admin)).toEqual([]);
    expect(host.applied).toEqual([]);
  });

  it('says so when emerge is not found, naming the command and build.emerge', async () => {
    const { admin } = await setUp({ emerge: ['/nonexistent/bin/emerge'] });
    await callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: [] });
    const b = await waitFor(async () => {
      const [x] = await builds(admin);
      return ended(x) ? x : undefined;
    });
    expect(b.status).toBe(BuildStatus.BUILD_STATUS_FAILED);
    expect(b.error).toBe('emerge command "/nonexistent/bin/emerge" not found (set build.emerge in the host config to the emerge program)');
  });

  it('reports a root locked by another emerge and stops waiting for it', async () => {
    const { host, admin } = await setUp();
    await host.control({ lock: true });
    await callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: ['app-misc/hello'] });
    const b = await waitFor(async () => {
      const [x] = await builds(admin);
      return ended(x) ? x : undefined;
    });
    expect(b).toMatchObject({ status: BuildStatus.BUILD_STATUS_FAILED, args: ['app-misc/hello'] });
    expect(b.error).toBe(`root locked: another emerge holds ${join(host.stateDir, 'roots', 'alpha')}/var/db/.pkg.portage_lockfile; build stopped, retry when it has finished`);
  });

  it('cancels a build made obsolete by a newer config and builds the newer one', async () => {
    const { host, target, admin } = await setUp();
    await host.control({ delayMs: 60_000 });
    const first = makeState('A=1\n');
    await target.report(first);
    await waitFor(async () => (await builds(admin))[0]?.status === BuildStatus.BUILD_STATUS_RUNNING && (await host.runs()).length === 1, { what: 'first build running' });
    await host.control({});
    const second = makeState('A=2\n');
    await target.report(second);
    const done = await waitFor(async () => {
      const list = await builds(admin);
      return list.length === 2 && list.every(ended) ? list : undefined;
    }, { what: 'both builds ended' });
    expect(done[1]).toMatchObject({ id: 1, status: BuildStatus.BUILD_STATUS_CANCELLED, configDigest: first.digest });
    expect(done[1]?.error).toBe(`cancelled: superseded by a newer config (${second.digest})`);
    expect(done[0]).toMatchObject({ id: 2, status: BuildStatus.BUILD_STATUS_SUCCEEDED, configDigest: second.digest, snapshotId: 1 });
    expect(host.applied).toEqual([first.digest, second.digest]);
  });

  it('coalesces three requests during a build into one follow-up build', async () => {
    const { host, admin } = await setUp();
    await host.control({ delayMs: 400 });
    const first = (await callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: [] })).build!;
    await waitFor(async () => (await host.runs()).length === 1, { what: 'first emerge started' });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: [] })).build!.id);
    expect(new Set(ids)).toEqual(new Set([first.id + 1]));
    await host.control({});
    await waitFor(async () => (await builds(admin)).every(ended), { what: 'builds ended' });
    expect((await builds(admin)).map((b) => [b.id, b.status])).toEqual([
      [2, BuildStatus.BUILD_STATUS_SUCCEEDED],
      [1, BuildStatus.BUILD_STATUS_SUCCEEDED],
    ]);
    expect(await host.runs()).toHaveLength(2);
  });

  it('refuses manual arguments with NUL or newlines', async () => {
    const { admin } = await setUp();
    await expect(callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: ['app-misc/x\nrm'] })).rejects.toMatchObject({
      details: 'emerge argument 1 contains a NUL or newline: "app-misc/x\\nrm"',
    });
  });
});
