import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Build, BuildKind, BuildStatus, silentLogger } from '@binhost/shared';
import { HostLayout } from '../layout.js';
import { BuildStore } from './build-store.js';
import { BuildQueue } from './build-queue.js';
import { FakeLauncher } from './fake-launcher.test-helpers.js';

describe('BuildQueue', () => {
  let dir: string;
  let layout: HostLayout;
  let store: BuildStore;
  let launcher: FakeLauncher;
  let published: Build[];
  let queue: BuildQueue;

  function makeQueue(graceMs = 30_000): BuildQueue {
    return new BuildQueue({
      layout,
      store,
      launcher,
      command: ['/usr/bin/emerge', '--color=n'],
      graceMs,
      env: async () => ({ FEATURES: 'binpkg-signing' }),
      publish: async (b) => {
        published.push(b);
        return 7;
      },
      log: silentLogger(),
    });
  }
  const auto = (prepare?: () => Promise<string>) => ({ target: 'alpha', root: 'alpha', kind: BuildKind.BUILD_KIND_AUTO, args: ['--update', '@world'], ...(prepare ? { prepare } : {}) });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'build-queue-'));
    layout = new HostLayout(dir);
    store = new BuildStore(layout, silentLogger());
    launcher = new FakeLauncher();
    published = [];
    queue = makeQueue();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs exactly the guide's command in the root, then publishes", async () => {
    const { build } = await queue.request(auto());
    const proc = await launcher.nth(1);
    expect([proc.spec.file, ...proc.spec.args]).toEqual(['/usr/bin/emerge', '--color=n', '--buildpkg', '--root-deps', '--update', '@world']);
    const root = layout.rootDir('alpha');
    expect(proc.spec.env).toMatchObject({ ROOT: `${root}/`, PORTAGE_CONFIGROOT: `${root}/`, PKGDIR: `${root}/var/cache/binpkgs/`, FEATURES: 'binpkg-signing' });
    proc.line('>>> Emerging (1 of 2) app-misc/hello-1.0::gentoo for /x/');
    proc.line('>>> Compiling source in /x ...');
    expect(queue.running('alpha')).toMatchObject({ currentPackage: 'app-misc/hello-1.0', packageIndex: 1, packageCount: 2, phase: 'compile' });
    const finished = once(queue, 'finished');
    proc.exit(0);
    await finished;
    expect(build).toMatchObject({ status: BuildStatus.BUILD_STATUS_SUCCEEDED, snapshotId: 7, exitCode: 0 });
    expect(published).toEqual([build]);
    expect(await readFile(store.logFile('alpha', build.id), 'utf8')).toContain('>>> Compiling source in /x ...\n');
  });

  it('coalesces three requests during a build into exactly one follow-up', async () => {
    const first = await queue.request(auto());
    const p1 = await launcher.nth(1);
    const followUps = [await queue.request(auto()), await queue.request(auto()), await queue.request(auto())];
    expect(followUps.map((f) => f.coalesced)).toEqual([false, true, true]);
    expect(new Set(followUps.map((f) => f.build.id)).size).toBe(1);
    p1.exit(0);
    const p2 = await launcher.nth(2);
    p2.exit(0);
    await queue.whenFinished(followUps[0]!.build);
    expect(launcher.started).toHaveLength(2);
    expect(store.list('alpha').map((b) => [b.id, b.status])).toEqual([
      [2, BuildStatus.BUILD_STATUS_SUCCEEDED],
      [first.build.id, BuildStatus.BUILD_STATUS_SUCCEEDED],
    ]);
  });

  it('cancels an obsolete build: SIGTERM to the group, SIGKILL after the grace period', async () => {
    queue = makeQueue(50);
    const { build } = await queue.request(auto(async () => 'sha256:old'));
    const proc = await launcher.nth(1);
    proc.honourTerm = false;
    const killed = once(proc.events, 'kill');
    expect(queue.cancelObsolete('alpha', 'sha256:old')).toBe(false);
    expect(queue.cancelObsolete('alpha', 'sha256:new')).toBe(true);
    await killed;
    await queue.whenFinished(build);
    expect(proc.kills).toEqual(['SIGTERM', 'SIGKILL']);
    expect(build.status).toBe(BuildStatus.BUILD_STATUS_CANCELLED);
    expect(build.error).toContain('superseded by a newer config (sha256:new)');
    expect(published).toEqual([]);
  });

  it('fails with a clear error when emerge is not found', async () => {
    launcher.startError = Object.assign(new Error('spawn /nope ENOENT'), { code: 'ENOENT' });
    const { build } = await queue.request(auto());
    await queue.whenFinished(build);
    expect(build.status).toBe(BuildStatus.BUILD_STATUS_FAILED);
    expect(build.error).toMatch(/emerge command "\/usr\/bin\/emerge" not found.*build\.emerge/);
  });

  it('reports a failed package with its phase and the log tail, and does not publish', async () => {
    const { build } = await queue.request(auto());
    const proc = await launcher.nth(1);
    proc.line('>>> Emerging (1 of 1) app-misc/broken-1.0::gentoo for /x/');
    proc.line(' \x1b[31;01m*\x1b[0m ERROR: app-misc/broken-1.0::gentoo failed (compile phase):');
    proc.line('>>>  \'/x/build.log\'');
    proc.exit(1);
    await queue.whenFinished(build);
    expect(build.status).toBe(BuildStatus.BUILD_STATUS_FAILED);
    expect(build.error).toBe('app-misc/broken-1.0 failed in the compile phase; last lines: >>> Emerging (1 of 1) app-misc/broken-1.0::gentoo for /x/ (emerge exited with 1)');
    expect(build.logTail.at(-1)).toContain('build.log');
    expect(published).toEqual([]);
  });

  it('stops and reports a root locked by another emerge', async () => {
    const { build } = await queue.request(auto());
    const proc = await launcher.nth(1);
    proc.line(' * waiting for lock on /r/var/db/.pkg.portage_lockfile ...');
    await queue.whenFinished(build);
    expect(proc.kills).toEqual(['SIGTERM']);
    expect(build.error).toMatch(/^root locked: another emerge holds \/r\/var\/db\/\.pkg\.portage_lockfile/);
  });

  it('fails without running emerge when the config cannot be applied', async () => {
    const { build } = await queue.request(auto(async () => Promise.reject(new Error('make.conf: line 3: unterminated quote'))));
    await queue.whenFinished(build);
    expect(launcher.started).toHaveLength(0);
    expect(build.error).toBe('config not applied: make.conf: line 3: unterminated quote');
  });

  it('marks builds left running by a stopped host INTERRUPTED when the history is loaded', async () => {
    const { build } = await queue.request(auto());
    await launcher.nth(1);
    expect((await store.list('alpha'))[0]?.status).toBe(BuildStatus.BUILD_STATUS_RUNNING);
    const reloaded = new BuildStore(layout, silentLogger());
    await reloaded.load();
    expect(reloaded.get('alpha', build.id)).toMatchObject({ status: BuildStatus.BUILD_STATUS_INTERRUPTED, error: 'the host stopped while this build ran' });
    launcher.started[0]!.exit(0);
    await queue.whenFinished(build);
  });
});
