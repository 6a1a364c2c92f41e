import { mkdir, mkdtemp, readdir, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Build, BuildStatus, FailedPreconditionError, NotFoundError, silentLogger } from '@binhost/shared';
import { HostLayout } from '../layout.js';
import { EventHub } from '../events/event-hub.js';
import { TargetRegistry } from './target-registry.js';
import { TargetStore } from './target-store.js';
import { removeTarget, sweepRemovals, type RemoveTargetDeps } from './remove-target.js';

const exists = (p: string) => access(p).then(() => true, () => false);

describe('removeTarget', () => {
  let dir: string;
  let layout: HostLayout;
  let hub: EventHub;
  let registry: TargetRegistry;
  /** Which root each target builds in, and which root's snapshot it is served (the fakes' state). */
  let rootOf: Map<string, string>;
  let publishedRoot: Map<string, string>;
  let builds: Build[];
  let cancelled: number[];
  let forgotten: string[];
  let forgottenRoots: string[];
  let deps: RemoveTargetDeps;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhost-remove-target-'));
    layout = new HostLayout(dir);
    hub = new EventHub();
    registry = new TargetRegistry(new TargetStore(layout.targetsDir()), hub, silentLogger());
    await registry.load();
    await registry.update('alpha', (r) => (r.root = 'alpha'));
    await registry.update('beta', () => undefined);
    await mkdir(join(layout.rootDir('alpha'), 'etc/portage'), { recursive: true });
    await writeFile(join(layout.rootDir('alpha'), 'etc/portage/make.conf'), 'CFLAGS="-O2"\n');
    await mkdir(layout.buildsDir('alpha'), { recursive: true });
    await writeFile(join(layout.buildsDir('alpha'), '1.json'), '{}\n');
    rootOf = new Map([['alpha', 'alpha'], ['beta', 'beta']]);
    publishedRoot = new Map();
    builds = [];
    cancelled = [];
    forgotten = [];
    forgottenRoots = [];
    deps = {
      registry,
      layout,
      builds: {
        rootOf: (t) => rootOf.get(t) ?? t,
        signing: { forget: async () => undefined },
        store: { list: (root) => builds.filter((b) => b.root === root), forgetRoot: (root) => void forgottenRoots.push(root) },
        queue: {
          cancel: async (_root, id) => {
            cancelled.push(id);
            return builds.find((b) => b.id === id)!;
          },
        },
        snapshots: { publishedRoot: (t) => publishedRoot.get(t), forget: (t) => void forgotten.push(t) },
      },
      publications: { forgetRoot: (root) => void forgottenRoots.push(`publications:${root}`) },
    };
  });
  afterEach(async () => {
    hub.closeAll();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an unknown name with NOT_FOUND naming it', async () => {
    await expect(removeTarget(deps, { name: 'gamma', purge: false })).rejects.toThrow(new NotFoundError('no target named "gamma"'));
  });

  it('refuses a connected target and changes nothing', async () => {
    const stream = hub.subscribe('alpha');
    const err = await removeTarget(deps, { name: 'alpha', purge: true }).catch((e: unknown) => e);
    stream.unsubscribe();
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toBe(
      'alpha is connected: stop binhost-target on it first (its certificate stays valid until it expires; the CA has no revocation list)',
    );
    expect(registry.has('alpha')).toBe(true);
    expect(await exists(join(layout.targetDir('alpha'), 'record.json'))).toBe(true);
    expect(await exists(layout.rootDir('alpha'))).toBe(true);
  });

  it('without purge removes the record dir and keeps the root', async () => {
    const res = await removeTarget(deps, { name: 'alpha', purge: false });
    expect(res).toEqual({ root: 'alpha', rootRemoved: false, sharedWith: [], cancelledBuilds: [], ownRoot: '', ownRootRemoved: false });
    expect(registry.has('alpha')).toBe(false);
    expect(await exists(layout.targetDir('alpha'))).toBe(false);
    expect(await exists(join(layout.rootDir('alpha'), 'etc/portage/make.conf'))).toBe(true);
    expect(await exists(join(layout.buildsDir('alpha'), '1.json'))).toBe(true);
    expect(forgotten).toEqual(['alpha']);
    // nothing left in the state dir but what was there
    expect((await readdir(dir)).sort()).toEqual(['roots', 'targets']);
    // a restarted host does not find it either
    const reloaded = new TargetRegistry(new TargetStore(layout.targetsDir()), hub, silentLogger());
    await reloaded.load();
    expect(reloaded.names()).toEqual(['beta']);
  });

  it('with purge removes an unshared root and its meta dir, cancelling its queued builds before the running one', async () => {
    builds = [
      Build.fromPartial({ id: 3, root: 'alpha', status: BuildStatus.BUILD_STATUS_RUNNING }),
      Build.fromPartial({ id: 4, root: 'alpha', status: BuildStatus.BUILD_STATUS_QUEUED }),
      Build.fromPartial({ id: 2, root: 'alpha', status: BuildStatus.BUILD_STATUS_SUCCEEDED }),
      Build.fromPartial({ id: 9, root: 'beta', status: BuildStatus.BUILD_STATUS_RUNNING }),
    ];
    const res = await removeTarget(deps, { name: 'alpha', purge: true });
    expect(res).toEqual({ root: 'alpha', rootRemoved: true, sharedWith: [], cancelledBuilds: [4, 3], ownRoot: '', ownRootRemoved: false });
    expect(cancelled).toEqual([4, 3]);
    expect(await exists(layout.rootDir('alpha'))).toBe(false);
    expect(await exists(layout.metaDir('alpha'))).toBe(false);
    expect(forgottenRoots).toEqual(['alpha', 'publications:alpha']);
    expect((await readdir(dir)).sort()).toEqual(['roots', 'targets']);
    expect(registry.names()).toEqual(['beta']);
  });

  it('with purge keeps a root another target builds in, and hands it over to that target', async () => {
    rootOf.set('beta', 'alpha');
    builds = [Build.fromPartial({ id: 5, root: 'alpha', status: BuildStatus.BUILD_STATUS_RUNNING })];
    const res = await removeTarget(deps, { name: 'alpha', purge: true });
    expect(res).toEqual({ root: 'alpha', rootRemoved: false, sharedWith: ['beta'], cancelledBuilds: [], ownRoot: '', ownRootRemoved: false });
    expect(cancelled).toEqual([]);
    expect(await exists(join(layout.rootDir('alpha'), 'etc/portage/make.conf'))).toBe(true);
    expect(registry.get('beta').root).toBe('alpha');
    expect(registry.has('alpha')).toBe(false);
  });

  it('with purge keeps a root whose snapshot another target is still served', async () => {
    publishedRoot.set('beta', 'alpha');
    const res = await removeTarget(deps, { name: 'alpha', purge: true });
    expect(res).toMatchObject({ root: 'alpha', rootRemoved: false, sharedWith: ['beta'] });
    expect(await exists(layout.metaDir('alpha'))).toBe(true);
    // beta builds elsewhere: it does not inherit the root
    expect(registry.get('beta').root).toBeUndefined();
  });

  it('refuses when the target connects while its build is being cancelled, keeping its record', async () => {
    builds = [Build.fromPartial({ id: 7, root: 'alpha', status: BuildStatus.BUILD_STATUS_RUNNING })];
    let stream: ReturnType<EventHub['subscribe']> | undefined;
    deps.builds.queue.cancel = async (_root, id) => {
      stream = hub.subscribe('alpha'); // the agent reconnects during the grace period
      return builds.find((b) => b.id === id)!;
    };
    await expect(removeTarget(deps, { name: 'alpha', purge: true })).rejects.toThrow(FailedPreconditionError);
    stream?.unsubscribe();
    expect(registry.has('alpha')).toBe(true);
    expect(await exists(join(layout.targetDir('alpha'), 'record.json'))).toBe(true);
    expect(await exists(layout.rootDir('alpha'))).toBe(true);
  });

  it('reports no root for a target that never had one, and purge touches no other root', async () => {
    const res = await removeTarget(deps, { name: 'beta', purge: true });
    expect(res).toEqual({ root: '', rootRemoved: false, sharedWith: [], cancelledBuilds: [], ownRoot: '', ownRootRemoved: false });
    expect(await exists(layout.rootDir('alpha'))).toBe(true);
    expect(registry.names()).toEqual(['alpha']);
  });

  it("with purge also deletes the target's own root, unused while it shared another's", async () => {
    await registry.update('beta', (r) => (r.root = 'beta'));
    await mkdir(join(layout.rootDir('beta'), 'etc'), { recursive: true });
    await mkdir(layout.snapshotsDir('beta'), { recursive: true });
    rootOf.set('beta', 'alpha'); // identical to alpha, which comes first by name
    builds = [Build.fromPartial({ id: 1, root: 'beta', status: BuildStatus.BUILD_STATUS_QUEUED })];
    const res = await removeTarget(deps, { name: 'beta', purge: true });
    expect(res).toEqual({ root: 'alpha', rootRemoved: false, sharedWith: ['alpha'], cancelledBuilds: [1], ownRoot: 'beta', ownRootRemoved: true });
    expect(await exists(layout.rootDir('beta'))).toBe(false);
    expect(await exists(layout.metaDir('beta'))).toBe(false);
    expect(await exists(layout.rootDir('alpha'))).toBe(true);
    expect(registry.get('alpha').root).toBe('alpha');
  });

  it("keeps the target's own root while another target is served one of its snapshots", async () => {
    await registry.update('beta', (r) => (r.root = 'beta'));
    await mkdir(join(layout.rootDir('beta'), 'etc'), { recursive: true });
    rootOf.set('beta', 'alpha');
    publishedRoot.set('alpha', 'beta');
    const res = await removeTarget(deps, { name: 'beta', purge: true });
    expect(res).toMatchObject({ root: 'alpha', rootRemoved: false, ownRoot: 'beta', ownRootRemoved: false, cancelledBuilds: [] });
    expect(await exists(layout.rootDir('beta'))).toBe(true);
  });

  it('runs concurrent removals one after the other', async () => {
    rootOf.set('beta', 'alpha');
    const [a, b] = await Promise.all([removeTarget(deps, { name: 'alpha', purge: true }), removeTarget(deps, { name: 'beta', purge: true })]);
    // alpha first: shared with beta, handed over; then beta: alone in it, so it goes
    expect(a).toMatchObject({ root: 'alpha', rootRemoved: false, sharedWith: ['beta'] });
    expect(b).toMatchObject({ root: 'alpha', rootRemoved: true, sharedWith: [] });
    expect(await exists(layout.rootDir('alpha'))).toBe(false);
    expect(registry.names()).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['roots', 'targets']);
  });

  it('sweeps what an interrupted removal left behind', async () => {
    const left = layout.removingDir('abc123');
    await mkdir(join(left, '0/etc'), { recursive: true });
    await writeFile(join(left, '0/etc/x'), 'x');
    await sweepRemovals(layout);
    expect(await exists(left)).toBe(false);
    expect(await exists(layout.rootDir('alpha'))).toBe(true);
  });
});
