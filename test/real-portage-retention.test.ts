import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { indexValue, InstallOutcome, parsePackagesIndex } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import type { StartedTarget } from './helpers/start-target.js';
import { waitFor } from './helpers/wait-for.js';
import { binhostctl } from './helpers/admin-cli.js';
import { buildTar, syntheticStage3 } from './helpers/tar-builder.js';
import { installReportOf, makePortageMachine, makeTargetSystem, type PortageMachine, realPortageBuildConfig, realPortageTargetConfig } from './helpers/real-portage.js';


/**
 * Retention with real Portage 3.0.83: rebuilds of one package add instances (BUILD_ID 2, 3, …)
 * to the root's PKGDIR; snapshots list one instance per package, the one the target already has
 * while a rebuild changes nothing; retention removes the other instances and Portage's own
 * `emaint binhost --fix` (the machine's wrapper beside its emerge) rewrites the index. Then a
 * `--usepkg` build still takes the binpkg, and the target still installs.
 */
describe('real Portage: retention of binpkg instances', () => {
  const h = useHarness({ scope: 'all', prefix: 'binhost-real-retention-' });
  let machine: PortageMachine;
  let host: StartedHost;
  let target: StartedTarget;
  const vdb = (key: string) => readFile(join(target.root, 'var/db/pkg/app-misc/hello-1.0', key), 'utf8').then((s) => s.trim());
  const ctl = (args: string[]) => binhostctl(h.pki, h.dir, host.address, args);
  const pkgIndex = async () => parsePackagesIndex(await readFile(join(host.daemon.layout.pkgDir('alpha'), 'Packages'), 'utf8'));
  const pkgFiles = async () => (await readdir(join(host.daemon.layout.pkgDir('alpha'), 'app-misc/hello'))).sort();

  beforeAll(async () => {
    machine = await makePortageMachine(join(h.dir, 'machine'));
    h.defer(() => host?.daemon.builds.signing.close()); // once the host has stopped
    host = await h.startHost({
      extra: realPortageBuildConfig(machine, 'keep_snapshots = 1\n'),
    });
    await makeTargetSystem(join(h.dir, 'alpha/root'), { makeConf: 'COMMON_FLAGS="-O2 -pipe"\nCFLAGS="${COMMON_FLAGS}"\n', world: ['app-misc/hello'] });
    target = await h.startTarget({
      name: 'alpha',
      address: host.address,
      extra: realPortageTargetConfig(machine),
    });
  }, 60_000);

  const installOf = (snapshotId: number) => installReportOf(host, 'alpha', snapshotId);

  /** A manual build of hello, followed; returns the snapshot it published. */
  async function rebuildHello(extra: string[] = []): Promise<number> {
    const r = await ctl(['build', 'alpha', '-f', ...extra, '--', '--oneshot', 'app-misc/hello']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return host.daemon.builds.snapshots.publishedId('alpha');
  }

  it('rebuilds add instances; snapshots keep the installed one; retention and emaint leave PKGDIR consistent', async () => {
    await waitFor(() => host.daemon.registry.store.readState('alpha'), { what: "alpha's state on the host" });
    const stage3 = join(h.dir, 'stage3.tar');
    await writeFile(stage3, buildTar(syntheticStage3()));
    expect((await ctl(['target', 'add', 'alpha', '--stage3', stage3])).code).toBe(0);
    const first = await installOf(1);
    expect(first.outcome, first.logTail.join('\n')).toBe(InstallOutcome.INSTALL_OUTCOME_INSTALLED);
    const [time1, counter1] = [await vdb('BUILD_TIME'), await vdb('COUNTER')];

    // three rebuilds with nothing changed: BUILD_ID 2, 3, 4 in PKGDIR, but each snapshot keeps instance 1
    for (const id of [2, 3, 4]) {
      expect(await rebuildHello()).toBe(id);
      const index = parsePackagesIndex(await readFile(join(host.daemon.layout.snapshotDir('alpha', id), 'Packages'), 'utf8'));
      expect(index.packages.map((p) => indexValue(p, 'BUILD_ID'))).toEqual(['1']);
      const r = await installOf(id);
      expect(r.outcome, r.logTail.join('\n')).toBe(InstallOutcome.INSTALL_OUTCOME_UP_TO_DATE);
    }
    // not reinstalled: the same build, merged once
    expect([await vdb('BUILD_TIME'), await vdb('COUNTER')]).toEqual([time1, counter1]);
    // retention after each publish: instance 1 (what snapshots name) and the newest (for --usepkg) stay
    expect(await pkgFiles()).toEqual(['hello-1.0-1.gpkg.tar', 'hello-1.0-4.gpkg.tar']);
    const index = await pkgIndex();
    expect(index.packages.map((p) => indexValue(p, 'BUILD_ID'))).toEqual(['1', '4']);
    expect(indexValue(index.header, 'PACKAGES')).toBe('2');
  }, 300_000);

  it('an admin-asked rebuild is reinstalled; a later --usepkg build takes the binpkg; df and gc report', async () => {
    const before = await vdb('BUILD_TIME');
    const id = await rebuildHello(['--reinstall-rebuilt']);
    const r = await installOf(id);
    expect(r.outcome, r.logTail.join('\n')).toBe(InstallOutcome.INSTALL_OUTCOME_INSTALLED);
    expect(await vdb('BUILD_TIME')).not.toBe(before);
    // retention ran at publish, when alpha still had snapshot 4 (instance 1) installed; now it has 5
    expect(await pkgFiles()).toEqual(['hello-1.0-1.gpkg.tar', 'hello-1.0-5.gpkg.tar']);
    const dry = await ctl(['gc', '--dry-run', '--verbose']);
    expect(dry.stdout).toContain('alpha: would free');
    expect(dry.stdout).toContain('  app-misc/hello/hello-1.0-1.gpkg.tar');
    const gc = await ctl(['gc']);
    expect(gc.stdout, gc.stderr).toMatch(/^alpha: freed .*: 1 binpkg instance\(s\), 1 snapshot\(s\)/m);
    expect(await pkgFiles()).toEqual(['hello-1.0-5.gpkg.tar']);
    expect((await pkgIndex()).packages.map((p) => indexValue(p, 'BUILD_ID'))).toEqual(['5']);

    // Portage reads the rewritten index: --usepkg merges the kept binpkg instead of compiling
    const b = await ctl(['build', 'alpha', '-f', '--', '--oneshot', '--usepkg=y', 'app-misc/hello']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/Emerging binary|\[binary/);
    expect(await pkgFiles()).toEqual(['hello-1.0-5.gpkg.tar']);

    const df = await ctl(['df', 'alpha', '--json']);
    const usage = JSON.parse(df.stdout) as { roots: { root: string; instances: number; removableInstances: number; pkgdirBytes: number }[] };
    expect(usage.roots[0]).toMatchObject({ root: 'alpha', instances: 1, removableInstances: 0 });
    expect((await ctl(['gc', '--dry-run'])).stdout).toMatch(/^alpha: would free 0 B: 0 binpkg instance/m);
  }, 300_000);
});
