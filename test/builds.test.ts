import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildStatus, callUnary, indexValue, parsePackagesIndex, type Build, type OpenEventsResponse } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import { clientsFor } from './helpers/clients.js';
import { waitFor } from './helpers/wait-for.js';
import { treeSnapshot } from './helpers/tree-snapshot.js';
import { cli, makeState, targetClient } from './helpers/build-host.js';

/** Builds run real processes; on a loaded machine they take a while. */
const waitLong = <T>(check: () => T | Promise<T>, options: { what?: string } = {}) => waitFor(check, { timeoutMs: 30_000, ...options });
type Admin = Awaited<ReturnType<typeof clientsFor>>['admin'];
const finishedEvents = (events: OpenEventsResponse[]): Build[] =>
  events.flatMap((e) => (e.event?.$case === 'buildFinished' ? [e.event.value] : []));

describe('automatic builds', { timeout: 90_000 }, () => {
  const h = useHarness();

  async function setUp(extra?: { emerge?: string[]; extra?: string }) {
    const host = await h.startBuildHost(extra);
    const target = await targetClient(h.pki, host.address);
    const admin = await clientsFor(h.pki, host.address, 'admin', 'root');
    h.defer(() => target.close());
    h.defer(() => admin.close());
    return { host, target, admin: admin.admin };
  }
  const builds = async (admin: Admin) => (await callUnary(admin.listBuilds.bind(admin), { target: 'alpha', limit: 0 })).builds;
  const ended = (b: Build | undefined) => b && b.status !== BuildStatus.BUILD_STATUS_RUNNING && b.status !== BuildStatus.BUILD_STATUS_QUEUED;

  it('turns a new state into apply → build → published snapshot with the stand-in emerge, and tells the target', async () => {
    const { host, target, admin } = await setUp();
    const state = makeState('CFLAGS="-O2 -pipe"\n', 'app-misc/hello\napp-misc/greet\n');
    await target.report(state);
    const build = await waitLong(async () => {
      const [b] = await builds(admin);
      return ended(b) ? b : undefined;
    }, { what: 'the automatic build' });
    expect(build).toMatchObject({ status: BuildStatus.BUILD_STATUS_SUCCEEDED, configDigest: state.digest, snapshotId: 1, args: ['--update', '--deep', '--newuse', '--changed-deps=y', '--with-bdeps=y', '--usepkg=y', '@world'] });
    expect(build.packageCount).toBeGreaterThanOrEqual(2);
    expect(host.applied).toEqual([state.digest]);
    const log = await readFile(join(host.stateDir, 'roots/alpha.meta/builds/1.log'), 'utf8');
    expect(log).toContain(`>>> Emerging (1 of ${build.packageCount}) `);
    expect(log).toContain('gcc -O2 -pipe');
    const snapDir = join(host.stateDir, 'roots', 'alpha.meta', 'snapshots', '1');
    expect((await readdir(snapDir)).sort()).toEqual(['Packages', 'app-misc', 'digests.json', 'snapshot.json']);
    const index = parsePackagesIndex(await readFile(join(snapDir, 'Packages'), 'utf8'));
    const paths = index.packages.map((p) => indexValue(p, 'PATH'));
    expect(paths).toEqual(expect.arrayContaining(['app-misc/hello/hello-1.0-1.gpkg.tar', 'app-misc/greet/greet-1.0-1.gpkg.tar']));
    for (const p of index.packages) expect((await stat(join(snapDir, indexValue(p, 'PATH')!))).size).toBe(Number(indexValue(p, 'SIZE')));
    expect(JSON.parse(await readFile(join(host.stateDir, 'targets/alpha/published.json'), 'utf8'))).toEqual({ root: 'alpha', snapshotId: 1 });
    // snapshot_published is sent while the build publishes, build_finished right after.
    await waitLong(() => target.events.some((e) => e.event?.$case === 'buildFinished'), { what: 'build_finished event' });
    expect(target.events.find((e) => e.event?.$case === 'snapshotPublished')?.event?.value).toMatchObject({ id: 1, builtDigest: state.digest });
    const kinds = target.events.map((e) => e.event?.$case);
    expect(kinds.indexOf('buildQueued')).toBeLessThan(kinds.indexOf('buildStarted'));
    expect(kinds.indexOf('buildStarted')).toBeLessThan(kinds.indexOf('snapshotPublished'));
    expect(kinds.indexOf('snapshotPublished')).toBeLessThan(kinds.indexOf('buildFinished'));
    const summary = (await callUnary(admin.listTargets.bind(admin), {})).targets.find((t) => t.name === 'alpha');
    expect(summary).toMatchObject({ publishedSnapshotId: 1, builtDigest: state.digest, lastBuildStatus: BuildStatus.BUILD_STATUS_SUCCEEDED, lastError: '' });
  });

  it("offers the target's root signing key to the target and to admins", async () => {
    const { target, admin } = await setUp();
    await expect(callUnary(admin.getSigningKey.bind(admin), { target: '' })).rejects.toThrow(/name the target/);
    const key = (await callUnary(admin.getSigningKey.bind(admin), { target: 'alpha' })).key;
    expect(key?.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    const targetKey = (await callUnary(target.client.getSigningKey.bind(target.client), {})).key;
    expect(targetKey).toEqual(key);
    expect(targetKey?.armoredPublicKey).toContain('BEGIN PGP PUBLIC KEY BLOCK');
  });

  it('keeps the last good publication when a build fails, and tells the target and the CLI why', async () => {
    const { host, target, admin } = await setUp();
    await target.report(makeState('A=1\n'));
    await waitLong(async () => (await builds(admin))[0]?.status === BuildStatus.BUILD_STATUS_SUCCEEDED, { what: 'first build' });
    const snapshots = join(host.stateDir, 'roots', 'alpha.meta', 'snapshots');
    const before = await treeSnapshot(snapshots);
    host.control({ fail: 'app-misc/greet' });
    await target.report(makeState('A=1\n', 'app-misc/hello\napp-misc/greet\n'));
    const failed = await waitLong(async () => {
      const [b] = await builds(admin);
      return b?.id === 2 && ended(b) ? b : undefined;
    }, { what: 'the failing build' });
    expect(failed.status).toBe(BuildStatus.BUILD_STATUS_FAILED);
    expect(failed.error).toMatch(/^app-misc\/greet-1\.0 failed in the compile phase: .+; last lines: .+ \(emerge exited with 1\)$/);
    expect(failed.logTail.join('\n')).toContain('ERROR: app-misc/greet-1.0::gentoo failed (compile phase)');
    expect(await treeSnapshot(snapshots)).toEqual(before);
    expect(JSON.parse(await readFile(join(host.stateDir, 'targets/alpha/published.json'), 'utf8')).snapshotId).toBe(1);
    const event = await waitLong(() => finishedEvents(target.events).find((b) => b.id === 2), { what: 'build_finished for build 2' });
    expect(event.error).toBe(failed.error);
    expect(event.logTail.length).toBeGreaterThan(0);
    const summary = await waitLong(async () => (await callUnary(admin.listTargets.bind(admin), {})).targets.find((t) => t.name === 'alpha' && t.lastError));
    expect(summary.lastError).toBe(`build 2 failed: ${failed.error}`);
    expect(summary.publishedSnapshotId).toBe(1);
    const shown = await cli(h.pki, h.dir, host.address, ['builds', 'alpha']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^2\s+alpha\s+failed\s+auto\s+.*app-misc\/greet-1\.0 failed in the compile phase: compile failed/m);
    expect(shown.stdout).toMatch(/^1\s+alpha\s+succeeded\s+auto\s+.*snapshot 1$/m);
  });

  it('runs emerge @preserved-rebuild when emerge reports preserved libraries, and publishes what that rebuilt', async () => {
    const { host, target, admin } = await setUp();
    host.control({ preserved: 'app-misc/hello' });
    await target.report(makeState('CFLAGS="-O2 -pipe"\n', 'app-misc/hello\napp-misc/greet\n'));
    const build = await waitLong(async () => {
      const [b] = await builds(admin);
      return ended(b) ? b : undefined;
    }, { what: 'the automatic build' });
    expect(build).toMatchObject({ status: BuildStatus.BUILD_STATUS_SUCCEEDED, snapshotId: 1 });
    const log = await readFile(join(host.stateDir, 'roots/alpha.meta/builds/1.log'), 'utf8');
    const second = log.indexOf('>>> binhost: emerge found preserved libraries; running emerge @preserved-rebuild');
    expect(second).toBeGreaterThan(log.indexOf('!!! existing preserved libs:'));
    expect(log.slice(second)).toMatch(/>>> Emerging \(1 of 1\) app-misc\/hello-1\.0::gentoo/);
    expect(JSON.parse(await readFile(join(host.stateDir, 'roots/alpha/var/lib/portage/preserved_libs_registry'), 'utf8'))).toEqual({});
    expect(log).not.toContain('\x1b[');
  });

  it('refuses a state whose native flags are unknown, without building', async () => {
    const { host, target, admin } = await setUp();
    await target.report(makeState('A=1\n', 'app-misc/hello\n', false));
    const summary = await waitLong(async () => (await callUnary(admin.listTargets.bind(admin), {})).targets.find((t) => t.name === 'alpha' && t.lastError));
    expect(summary.lastError).toMatch(/^not built: the target's -march=native is unknown \(gcc: not found\)/);
    expect(await builds(admin)).toEqual([]);
    expect(host.applied).toEqual([]);
  });

  it('says so when emerge is not found, naming the command and build.emerge', async () => {
    const { host, admin } = await setUp({ emerge: ['/nonexistent/bin/emerge'] });
    // the target registers on its event stream, which opens in the background
    await waitLong(() => host.daemon.registry.has('alpha'), { what: 'alpha registered' });
    await callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: [], reinstallRebuilt: false });
    const b = await waitLong(async () => {
      const [x] = await builds(admin);
      return ended(x) ? x : undefined;
    });
    expect(b.status).toBe(BuildStatus.BUILD_STATUS_FAILED);
    expect(b.error).toBe('emerge command "/nonexistent/bin/emerge" not found (set build.emerge in the host config to the emerge program)');
  });

  it('reports a root locked by another emerge and stops waiting for it', async () => {
    // The stand-in's lock records a pid, which an emerge in the build sandbox (a PID namespace
    // of its own) cannot see; real Portage's fcntl lock holds across namespaces.
    const { host, admin } = await setUp({ extra: 'sandbox = false' });
    // Another emerge (this test process, alive) holds the root's lock, as the stand-in records it.
    const lockFile = join(host.stateDir, 'roots', 'alpha', 'var/db/.pkg.portage_lockfile');
    await mkdir(dirname(lockFile), { recursive: true });
    await writeFile(lockFile, `${process.pid}\n`);
    await callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: ['app-misc/hello'], reinstallRebuilt: false });
    const b = await waitLong(async () => {
      const [x] = await builds(admin);
      return ended(x) ? x : undefined;
    });
    expect(b).toMatchObject({ status: BuildStatus.BUILD_STATUS_FAILED, args: ['app-misc/hello'] });
    expect(b.error).toBe(`root locked: another emerge holds ${lockFile}; build stopped, retry when it has finished`);
  });

  it('cancels a build made obsolete by a newer config and builds the newer one', async () => {
    const { host, target, admin } = await setUp();
    host.control({ delayMs: 60_000 });
    const first = makeState('A=1\n');
    await target.report(first);
    await waitLong(async () => (await builds(admin))[0]?.phase === 'unpack', { what: 'first build running emerge' });
    host.control({});
    const second = makeState('A=2\n');
    await target.report(second);
    const done = await waitLong(async () => {
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
    await mkdir(join(host.stateDir, 'roots/alpha/var/lib/portage'), { recursive: true });
    await writeFile(join(host.stateDir, 'roots/alpha/var/lib/portage/world'), 'app-misc/hello\n');
    host.control({ delayMs: 150 });
    const first = (await callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: [], reinstallRebuilt: false })).build!;
    await waitLong(async () => (await builds(admin))[0]?.phase === 'unpack', { what: 'first emerge running' });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: [], reinstallRebuilt: false })).build!.id);
    expect(new Set(ids)).toEqual(new Set([first.id + 1]));
    host.control({});
    await waitLong(async () => (await builds(admin)).every(ended), { what: 'builds ended' });
    expect((await builds(admin)).map((b) => [b.id, b.status])).toEqual([
      [2, BuildStatus.BUILD_STATUS_SUCCEEDED],
      [1, BuildStatus.BUILD_STATUS_SUCCEEDED],
    ]);
    const files = await waitLong(async () => {
      const names = await readdir(join(host.stateDir, 'roots/alpha.meta/builds'));
      // a record still being written, a pid file not yet removed
      return names.every((n) => !n.startsWith('.') && !n.endsWith('.pid')) ? names : undefined;
    });
    expect(files.sort()).toEqual(['1.json', '1.log', '2.json', '2.log']);
  });

  it('refuses manual arguments with NUL or newlines', async () => {
    const { admin } = await setUp();
    await expect(callUnary(admin.triggerBuild.bind(admin), { target: 'alpha', args: ['app-misc/x\nrm'], reinstallRebuilt: false })).rejects.toMatchObject({
      details: 'emerge argument 1 contains a NUL or newline: "app-misc/x\\nrm"',
    });
  });
});
