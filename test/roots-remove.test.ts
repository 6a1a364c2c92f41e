import { buildProcesses } from './helpers/build-processes.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildStatus } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import { makeHarnessTarget } from './helpers/portage-tree.js';
import type { StartedHost } from './helpers/start-host.js';
import type { StartedTarget } from './helpers/start-target.js';
import { waitFor } from './helpers/wait-for.js';
import { binhostctl } from './helpers/admin-cli.js';
import { EMERGE_STAND_IN, TEST_REPO } from './helpers/emerge-stand-in.js';
import { buildTar, syntheticStage3 } from './helpers/tar-builder.js';

const exists = (p: string) => access(p).then(() => true, () => false);

describe('binhostctl target remove', () => {
  const h = useHarness({ prefix: 'binhost-roots-remove-' });
  let host: StartedHost;
  let stage3: string;
  /** The running target agents by name (the harness stops them after each test). */
  const agents = new Map<string, StartedTarget>();

  beforeEach(async () => {
    agents.clear();
    host = await h.startHost({
      extra: `[build]\nemerge = [${JSON.stringify(EMERGE_STAND_IN)}]\nrepository = ${JSON.stringify(TEST_REPO)}\n[signing]\nenabled = false\n`,
    });
    stage3 = join(h.dir, 'stage3.tar');
    await writeFile(stage3, buildTar(syntheticStage3()));
  });

  const ctl = (...args: string[]) => binhostctl(h.pki, h.dir, host.address, args);
  const layout = () => host.daemon.layout;
  const targetNames = async () => (JSON.parse((await ctl('--json', 'targets')).stdout) as { targets: { name: string }[] }).targets.map((t) => t.name);

  async function addTarget(name: string): Promise<void> {
    const res = await ctl('target', 'add', name, '--stage3', stage3);
    expect(res.code, res.stderr).toBe(0);
  }

  async function stopAgent(name: string): Promise<void> {
    await agents.get(name)!.stop();
    agents.delete(name);
    await waitFor(() => !host.daemon.registry.isConnected(name), { what: `${name} disconnected` });
  }

  it('a host killed between the rename and the delete finishes the delete when it starts again', async () => {
    await addTarget('alpha');
    const port = Number(host.address.split(':').pop());
    await host.stop();
    // what moveAndDelete leaves if the host dies after the rename: a dir nothing looks at
    const leftover = layout().removingDir('deadbeef');
    await mkdir(join(leftover, '0/etc/portage'), { recursive: true });
    await writeFile(join(leftover, '0/etc/portage/make.conf'), 'CFLAGS="-O2"\n');
    host = await h.startHost({
      port,
      extra: `[build]\nemerge = [${JSON.stringify(EMERGE_STAND_IN)}]\nrepository = ${JSON.stringify(TEST_REPO)}\n[signing]\nenabled = false\n`,
    });
    expect(await exists(leftover)).toBe(false);
    expect(await targetNames()).toEqual(['alpha']);
  });

  it('without --purge forgets the target and keeps its root on disk', async () => {
    await addTarget('alpha');
    await addTarget('beta');
    const res = await ctl('target', 'remove', 'alpha');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('target alpha removed\nroot alpha kept, with its builds and snapshots (--purge deletes it)\n');
    expect(await targetNames()).toEqual(['beta']);
    expect(await exists(layout().targetDir('alpha'))).toBe(false);
    expect(await exists(join(layout().rootDir('alpha'), 'etc'))).toBe(true);
    expect(await exists(layout().metaDir('alpha'))).toBe(true);
    // asking again: it is gone
    const again = await ctl('target', 'remove', 'alpha');
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('binhostctl: target remove: no target named "alpha"\n');
  });

  it('a removed target that registers again is listed with the root it builds in, which a second remove names', async () => {
    await makeHarnessTarget(join(h.dir, 'alpha', 'root'));
    agents.set('alpha', await h.startTarget({ name: 'alpha', address: host.address, extra: '[install]\npolicy = "off"' }));
    const { registry, builds } = host.daemon;
    await waitFor(() => registry.currentKey('alpha'), { what: "alpha's state" });
    await addTarget('alpha');
    await waitFor(() => builds.list('alpha', 1)[0]?.status === BuildStatus.BUILD_STATUS_SUCCEEDED, { what: 'the first build', timeoutMs: 60_000 });
    await stopAgent('alpha');
    expect((await ctl('target', 'remove', 'alpha')).code).toBe(0);

    agents.set('alpha', await h.startTarget({ name: 'alpha', address: host.address, extra: '[install]\npolicy = "off"' }));
    await waitFor(() => registry.has('alpha') && registry.currentKey('alpha'), { what: 'alpha registered again' });
    // it builds in root alpha, kept on disk ...
    const rebuilt = await waitFor(() => builds.list('alpha', 5).find((b) => b.id > 1 && b.status === BuildStatus.BUILD_STATUS_SUCCEEDED), { what: 'a build after re-registering', timeoutMs: 60_000 });
    expect(rebuilt.root).toBe('alpha');
    // ... and the listings say so
    expect((await ctl('targets')).stdout).toMatch(/^alpha\s.*\salpha\s*$/m);
    const targets = (JSON.parse((await ctl('--json', 'targets')).stdout) as { targets: { name: string; root: string }[] }).targets;
    expect(targets.map((t) => [t.name, t.root])).toEqual([['alpha', 'alpha']]);
    const status = (JSON.parse((await ctl('--json', 'status')).stdout) as { targets: { root: string }[] }).targets;
    expect(status[0]!.root).toBe('alpha');
    await stopAgent('alpha');
    expect((await ctl('target', 'remove', 'alpha')).stdout).toBe('target alpha removed\nroot alpha kept, with its builds and snapshots (--purge deletes it)\n');
  }, 120_000);

  it('with --purge deletes an unshared root and its meta dir, and --json says so', async () => {
    await addTarget('alpha');
    await addTarget('beta');
    const res = await ctl('target', 'remove', 'alpha', '--purge', '--json');
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      version: 1,
      name: 'alpha',
      root: 'alpha',
      rootRemoved: true,
      sharedWith: [],
      cancelledBuilds: [],
      ownRoot: '',
      ownRootRemoved: false,
    });
    expect(await exists(layout().rootDir('alpha'))).toBe(false);
    expect(await exists(layout().metaDir('alpha'))).toBe(false);
    expect(await exists(layout().rootDir('beta'))).toBe(true);
    expect((await readdir(layout().stateDir)).filter((e) => e.startsWith('.'))).toEqual([]);
    expect(await targetNames()).toEqual(['beta']);
  });

  it('refuses an unknown name and bad usage with their exit codes', async () => {
    const res = await ctl('target', 'remove', 'nosuch', '--purge');
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('binhostctl: target remove: no target named "nosuch"\n');
    const none = await ctl('target', 'remove');
    expect(none).toMatchObject({ code: 2, stdout: '' });
    expect(none.stderr).toContain("binhostctl: missing required argument 'NAME'\nusage: binhostctl target remove [options] <NAME>\n");
    const two = await ctl('target', 'remove', 'a', 'b');
    expect(two.code).toBe(2);
    expect(two.stderr).toContain("too many arguments for 'remove'");
  });

  it('refuses a connected target, then with --purge keeps the root the other target shares', async () => {
    for (const name of ['alpha', 'beta']) {
      await makeHarnessTarget(join(h.dir, name, 'root'));
      agents.set(name, await h.startTarget({ name, address: host.address, extra: '[install]\npolicy = "off"' }));
    }
    const { registry, builds } = host.daemon;
    await waitFor(() => registry.currentKey('alpha') && registry.currentKey('alpha') === registry.currentKey('beta'), { what: 'both states' });
    await addTarget('alpha');
    await waitFor(() => builds.snapshots.publishedId('alpha') > 0 && builds.snapshots.publishedId('beta') > 0, {
      what: 'a snapshot for both targets',
      timeoutMs: 60_000,
    });
    // the build publishes before its record says "succeeded": wait for that too
    await waitFor(() => builds.list('alpha', 1)[0]?.status === BuildStatus.BUILD_STATUS_SUCCEEDED, { what: 'the build to end' });

    // (a) connected: refused, nothing changed
    const before = await ctl('--json', 'targets');
    const refused = await ctl('target', 'remove', 'alpha', '--purge');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'binhostctl: target remove: alpha is connected: stop binhost-target on it first (its certificate stays valid until it expires; the CA has no revocation list)\n',
    );
    expect((await ctl('--json', 'targets')).stdout).toBe(before.stdout);
    expect(await exists(join(layout().targetDir('alpha'), 'record.json'))).toBe(true);

    // (d) stopped: removed, but the root stays for beta, which now owns it
    await stopAgent('alpha');
    const res = await ctl('target', 'remove', 'alpha', '--purge');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('target alpha removed\nroot alpha kept: shared with beta\n');
    expect(await exists(join(layout().rootDir('alpha'), 'etc'))).toBe(true);
    expect(await exists(layout().snapshotDir('alpha', builds.snapshots.publishedId('beta')))).toBe(true);
    const rows = (JSON.parse((await ctl('--json', 'targets')).stdout) as { targets: { name: string; root: string }[] }).targets;
    expect(rows.map((r) => [r.name, r.root])).toEqual([['beta', 'alpha']]);
    expect(await exists(layout().targetDir('alpha'))).toBe(false);
  }, 120_000);
});

describe('binhostctl target remove with builds of its root', () => {
  const h = useHarness({ prefix: 'binhost-roots-remove-builds-' });

  it('cancels the queued and the running build of an unshared root, and nothing is published', async () => {
    // An emerge that prints its pid and then runs until it is stopped.
    const code = [
      "require('node:fs').writeFileSync(process.env.ROOT + 'emerge.pid', String(process.pid));",
      "console.log('>>> Emerging (1 of 1) app-misc/hello-1.0::gentoo for ' + process.env.ROOT);",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const host = await h.startBuildHost({ emerge: [process.execPath, '-e', code, '--'] });
    const { daemon, stateDir } = host;
    await daemon.registry.update('alpha', (r) => (r.root = 'alpha'));
    const running = await daemon.builds.trigger('alpha', ['app-misc/hello']);
    const queued = await daemon.builds.trigger('alpha', ['app-misc/greet']);
    const pidFile = join(stateDir, 'roots/alpha/emerge.pid');
    await waitFor(() => readFile(pidFile, 'utf8').catch(() => ''), { what: 'emerge running' });
    // (its pid is one of its build sandbox's PID namespace: find it by its ROOT instead)
    expect(await buildProcesses(join(stateDir, 'roots/alpha'))).not.toEqual([]);

    const res = await binhostctl(h.pki, h.dir, host.address, ['target', 'remove', 'alpha']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe(
      `target alpha removed\ncancelled builds ${queued.id}, ${running.id} of root alpha\nroot alpha kept, with its builds and snapshots (--purge deletes it)\n`,
    );
    const record = async (id: number) => JSON.parse(await readFile(join(stateDir, `roots/alpha.meta/builds/${id}.json`), 'utf8')) as { status: string };
    expect((await record(running.id)).status).toBe('BUILD_STATUS_CANCELLED');
    expect((await record(queued.id)).status).toBe('BUILD_STATUS_CANCELLED');
    expect(await buildProcesses(join(stateDir, 'roots/alpha'))).toEqual([]);
    expect(await exists(join(stateDir, 'roots/alpha.meta/snapshots'))).toBe(false);
    expect(await exists(join(stateDir, 'targets/alpha'))).toBe(false);
  }, 60_000);

  it('after --purge, a root made again under the same name is served its own snapshot 1, not the old one', async () => {
    const host = await h.startBuildHost();
    const { daemon, stateDir } = host;
    const makeRoot = async () => {
      await mkdir(join(stateDir, 'roots/alpha/var/lib/portage'), { recursive: true });
      await daemon.registry.update('alpha', (r) => (r.root = 'alpha'));
    };
    const buildAndServe = async (atom: string) => {
      const b = await daemon.builds.trigger('alpha', ['--oneshot', atom]);
      await waitFor(() => daemon.builds.store.get('alpha', b.id)?.status === BuildStatus.BUILD_STATUS_SUCCEEDED, { what: `build of ${atom}`, timeoutMs: 30_000 });
      await waitFor(() => daemon.builds.snapshots.publishedId('alpha') === 1, { what: 'snapshot 1 published' });
      return (await daemon.publications.published('alpha'))!;
    };
    await makeRoot();
    const first = await buildAndServe('app-misc/hello');
    expect(first.indexBytes.toString()).toContain('CPV: app-misc/hello-');

    const res = await binhostctl(h.pki, h.dir, host.address, ['target', 'remove', 'alpha', '--purge']);
    expect(res.stdout).toBe('target alpha removed\nroot alpha removed, with its builds and snapshots\n');
    expect(daemon.builds.list(undefined, 0)).toEqual([]);
    expect(await daemon.publications.published('alpha')).toBeUndefined();

    await makeRoot();
    const second = await buildAndServe('app-misc/greet');
    const onDisk = await readFile(join(stateDir, 'roots/alpha.meta/snapshots/1/Packages'));
    expect(second.indexBytes.equals(onDisk)).toBe(true);
    expect(second.indexBytes.toString()).toContain('CPV: app-misc/greet-');
    expect(second.indexBytes.toString()).not.toContain('CPV: app-misc/hello-');
  }, 60_000);
});
