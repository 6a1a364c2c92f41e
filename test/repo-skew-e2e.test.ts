import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectRepoRevisions, createConfigReloader, InstallOutcome, loadHostConfig, silentLogger } from '@binhost/shared';
import { applyHostConfig, HOST_LIVE_KEYS } from '@binhost/agent-host';
import { useHarness } from './helpers/harness.js';
import type { StartedTarget } from './helpers/start-target.js';
import { waitFor } from './helpers/wait-for.js';
import { cli, makeState, type BuildHost } from './helpers/build-host.js';
import { reposConf, rsyncTree } from './helpers/ebuild-trees.js';

const FAKE_EMERGE = fileURLToPath(new URL('./fixtures/delivery/fake-emerge.mjs', import.meta.url));
/** The stand-in emerge's ebuild repository (test/fixtures/README.md). */
const FIXTURE_REPO = fileURLToPath(new URL('./fixtures/repo', import.meta.url));
const HOUR = 3_600_000;
const HOST_COMMIT = 'b'.repeat(40);

/**
 * repos.skew_policy with real servers: a host building with the stand-in emerge from a tree 3 days
 * newer than the target's, a target agent that reports its own trees (rsync-style, synced by
 * replacing metadata/timestamp.*) and installs with the delivery tests' emerge.
 */
describe('repository skew end to end', { timeout: 120_000 }, () => {
  const h = useHarness();
  let host: BuildHost | undefined;
  let target: StartedTarget | undefined;
  const state = makeState('CFLAGS="-O2 -pipe"\n');
  const now = Date.now();
  const hostTime = new Date(now - HOUR);

  const targetTree = () => join(h.dir, 'alpha-repos/gentoo');
  const lastInstall = () => host!.daemon.installs.last('alpha');
  const installed = () => readFile(join(target!.root, 'var/db/pkg/app-misc/hello-1.0/BINPKGMD5'), 'utf8').then(() => true, () => false);
  const status = async (...args: string[]) => (await cli(h.pki, h.dir, host!.address, ['status', ...args])).stdout;

  /** Host (policy `policy`, tree at hostTime) and target alpha (tree 3 days older), connected. */
  async function setUp(policy: string): Promise<void> {
    host = await h.startBuildHost({ extra: `[repos]\nskew_policy = "${policy}"` });
    const hostTree = join(h.dir, 'host-repos/gentoo');
    await cp(FIXTURE_REPO, hostTree, { recursive: true });
    await rsyncTree(hostTree, 'gentoo', hostTime, HOST_COMMIT);
    await mkdir(join(host.stateDir, 'roots/alpha/etc/portage'), { recursive: true });
    await writeFile(join(host.stateDir, 'roots/alpha/etc/portage/repos.conf'), reposConf({ gentoo: hostTree }));
    await rsyncTree(targetTree(), 'gentoo', new Date(hostTime.getTime() - 72 * HOUR), 'a'.repeat(40));
    const root = join(h.dir, 'alpha/root');
    await mkdir(join(root, 'etc/portage'), { recursive: true });
    await writeFile(join(root, 'etc/portage/repos.conf'), reposConf({ gentoo: targetTree() }));
    target = await h.startTarget({
      name: 'alpha',
      address: host.address,
      // the config files of makeState (what the host builds from) and the trees this root really has
      collectState: async () => ({ ...state, repoRevisions: await collectRepoRevisions(root) }),
      extra: `[report]\ndebounce_ms = 50\n[install]\npolicy = "auto"\nemerge = ${JSON.stringify([process.execPath, FAKE_EMERGE])}\n`,
    });
  }
  /** The target's `emerge --sync`: its tree now at the host's revision. */
  const syncTargetTree = () => rsyncTree(targetTree(), 'gentoo', hostTime, HOST_COMMIT);

  it('hold: publishes, the target holds the install naming the skew, and installs once its tree is synced', async () => {
    await setUp('hold');
    const held = await waitFor(async () => ((await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_HELD ? lastInstall() : undefined), {
      timeoutMs: 60_000,
      what: 'the held install',
    });
    expect(held.snapshotId).toBe(1);
    expect(held.error).toBe(`host tree is 3 days newer than alpha's; sync alpha's ebuild tree, the install follows (repos.skew_policy = "hold")`);
    expect(host!.daemon.builds.snapshots.publishedId('alpha')).toBe(1);
    expect(await installed()).toBe(false);
    const before = await status('--verbose');
    expect(before).toContain("alpha: host tree is 3 days newer than alpha's");
    expect(before).toContain(`alpha: last error: install of snapshot 1 held: host tree is 3 days newer than alpha's; sync alpha's ebuild tree`);

    // no config change, no admin: the target's tree syncs, it re-reports, and the install follows
    await syncTargetTree();
    await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED, { timeoutMs: 60_000, what: 'the install after the sync' });
    expect(await installed()).toBe(true);
    expect(host!.daemon.registry.get('alpha')).toMatchObject({ installedSnapshotId: 1, lastError: '' });
    await waitFor(async () => !(await status()).includes('host tree is'), { what: 'the skew gone from status' });
  });

  it('refuse: does not publish to a target with an older tree, says why, and publishes once its tree is synced', async () => {
    await setUp('refuse');
    await waitFor(() => host!.daemon.registry.get('alpha').lastError.includes('not published'), { timeoutMs: 60_000, what: 'the refusal' });
    expect(host!.daemon.registry.get('alpha').lastError).toBe(
      `snapshot 1 not published: alpha's ebuild tree is older than the build's (host tree is 3 days newer than alpha's); sync its tree (repos.skew_policy = "refuse")`,
    );
    expect(host!.daemon.builds.snapshots.publishedId('alpha')).toBe(0);
    expect(await status('--verbose')).toContain("alpha: last error: snapshot 1 not published: alpha's ebuild tree is older than the build's");
    expect(await installed()).toBe(false);

    await syncTargetTree();
    await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED, { timeoutMs: 60_000, what: 'publication and install after the sync' });
    expect(host!.daemon.builds.snapshots.publishedId('alpha')).toBe(1);
    expect(await installed()).toBe(true);
    expect(host!.daemon.registry.get('alpha').lastError).toBe('');
  });

  /** What SIGHUP does (main.ts): host.toml rewritten with `policy`, reloaded, its live keys applied. */
  async function reloadPolicy(from: string, to: string) {
    const reloader = createConfigReloader({
      file: host!.configFile,
      load: loadHostConfig,
      current: await loadHostConfig(host!.configFile),
      liveKeys: HOST_LIVE_KEYS,
      apply: (next) => applyHostConfig(host!.daemon, next),
      log: silentLogger(),
    });
    await writeFile(host!.configFile, (await readFile(host!.configFile, 'utf8')).replace(`skew_policy = "${from}"`, `skew_policy = "${to}"`));
    return reloader.reload();
  }

  it('a reloaded skew_policy applies at once: hold → warn installs the held snapshot without a tree sync', async () => {
    await setUp('hold');
    await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_HELD, { timeoutMs: 60_000, what: 'the held install' });
    expect(await reloadPolicy('hold', 'warn')).toEqual({ ok: true, applied: ['repos.skew_policy'], restartRequired: [] });
    await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED, { timeoutMs: 60_000, what: 'the install after the reload' });
    expect(await installed()).toBe(true);
  });

  it('a reloaded skew_policy applies at once: refuse → warn publishes the refused snapshot, and it installs', async () => {
    await setUp('refuse');
    await waitFor(() => host!.daemon.registry.get('alpha').lastError.includes('not published'), { timeoutMs: 60_000, what: 'the refusal' });
    expect(await reloadPolicy('refuse', 'warn')).toMatchObject({ ok: true, applied: ['repos.skew_policy'] });
    await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED, { timeoutMs: 60_000, what: 'publication and install after the reload' });
    expect(host!.daemon.builds.snapshots.publishedId('alpha')).toBe(1);
    expect(host!.daemon.registry.get('alpha').lastError).toBe('');
  });

  it('warn: publishes and installs, and status shows the skew in words', async () => {
    await setUp('warn');
    await waitFor(async () => (await lastInstall())?.outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED, { timeoutMs: 60_000, what: 'the install' });
    const out = await status();
    expect(out).toContain("alpha: host tree is 3 days newer than alpha's\n");
    const json = JSON.parse((await cli(h.pki, h.dir, host!.address, ['status', '--json'])).stdout) as { targets: { name: string; repoSkew: string }[] };
    expect(json.targets.find((t) => t.name === 'alpha')?.repoSkew).toBe("host tree is 3 days newer than alpha's");
  });
});
