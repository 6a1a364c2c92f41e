import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { callUnary, indexValue, InstallOutcome, parsePackagesIndex } from '@binhost/shared';
import { spawnRunner } from '@binhost/agent-target';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import type { StartedTarget } from './helpers/start-target.js';
import { clientsFor } from './helpers/clients.js';
import { waitFor } from './helpers/wait-for.js';
import { writeSnapshot } from './helpers/publish-snapshot.js';

const STAND_IN = fileURLToPath(new URL('./fixtures/bin/emerge', import.meta.url));

/**
 * One signing key per root: a build of root A (which runs A's target config, and can read A's
 * key) signs with A's key, and the targets of root B trust only B's. The stand-in verifies
 * signatures the way Portage does (test/fixtures/README.md).
 */
describe('signing keys per root', () => {
  const h = useHarness();
  let host: StartedHost;

  beforeEach(async () => {
    h.defer(() => host.daemon.builds.signing.close()); // once the host has stopped
    host = await h.startHost();
  });

  /** Builds app-misc/hello with the stand-in, signed with `root`'s key as a build of that root would be. */
  async function buildSignedBy(root: string): Promise<{ path: string; data: Buffer; index: string }> {
    const keys = host.daemon.builds.signing.of(root);
    const key = await keys.ensure();
    const scratch = join(h.dir, `build-${root}`);
    await mkdir(join(scratch, 'etc/portage'), { recursive: true });
    await writeFile(join(scratch, 'etc/portage/make.conf'), 'CFLAGS="-O2"\n');
    const pkgdir = join(scratch, 'var/cache/binpkgs');
    const r = await spawnRunner.run({
      argv: [process.execPath, STAND_IN, '--buildpkg', '--oneshot', 'app-misc/hello'],
      env: {
        ...process.env,
        ROOT: `${scratch}/`,
        PORTAGE_CONFIGROOT: `${scratch}/`,
        PKGDIR: pkgdir,
        FEATURES: 'binpkg-signing',
        BINPKG_GPG_SIGNING_GPG_HOME: keys.homeDir,
        BINPKG_GPG_SIGNING_KEY: key.fingerprint,
        BINPKG_GPG_VERIFY_GPG_HOME: keys.verifyHome,
      },
    });
    expect(r.exitCode, r.tail.join('\n')).toBe(0);
    const index = await readFile(join(pkgdir, 'Packages'), 'utf8');
    const path = indexValue(parsePackagesIndex(index).packages[0]!, 'PATH')!;
    return { path, data: await readFile(join(pkgdir, path)), index };
  }

  /** Publishes `pkg` as snapshot `id` of `root` for `target`, which then installs it. */
  async function publishAndInstall(target: string, root: string, id: number, pkg: { path: string; data: Buffer; index: string }) {
    await writeSnapshot({ stateDir: host.stateDir, root, id, files: [{ path: pkg.path, data: pkg.data }], index: pkg.index, publishFor: [target], daemon: host.daemon });
    const admin = await clientsFor(h.pki, host.address, 'admin', 'root');
    try {
      const sync = await callUnary(admin.admin.triggerSync.bind(admin.admin), { target, confirmed: true, args: ['app-misc/hello'] });
      return await waitFor(async () => {
        const last = await host.daemon.installs.last(target);
        return last?.requestId === sync.requestId && last;
      }, { timeoutMs: 30_000, what: `${target}'s install result` });
    } finally {
      admin.close();
    }
  }

  async function startNamed(name: string): Promise<StartedTarget> {
    const root = join(h.dir, name, 'root');
    await mkdir(join(root, 'etc/portage'), { recursive: true });
    await writeFile(join(root, 'etc/portage/make.conf'), 'CFLAGS="-O2"\n');
    const t = await h.startTarget({ name, address: host.address, extra: `[install]\npolicy = "auto"\nemerge = ${JSON.stringify([process.execPath, STAND_IN])}\n` });
    await waitFor(() => host.daemon.registry.isConnected(name), { timeoutMs: 30_000, what: `${name} connected` });
    return t;
  }

  it("a package signed by root A's build is refused by a target of root B; B's own installs", async () => {
    const fromA = await buildSignedBy('alpha');
    const fromB = await buildSignedBy('beta');
    const [a, b] = [await host.daemon.builds.signing.of('alpha').ensure(), await host.daemon.builds.signing.of('beta').ensure()];
    expect(a.fingerprint).not.toBe(b.fingerprint);
    await startNamed('beta');
    // A's package reaching B's target (published for beta as if A's build had written B's root)
    const refused = await publishAndInstall('beta', 'beta', 1, fromA);
    expect(refused.outcome).toBe(InstallOutcome.INSTALL_OUTCOME_FAILED);
    expect(refused.error).toMatch(/^signature refused for app-misc\/hello-1\.0: signed with a key the keyring does not have/);
    const installed = await publishAndInstall('beta', 'beta', 2, fromB);
    expect(installed.outcome, installed.error).toBe(InstallOutcome.INSTALL_OUTCOME_INSTALLED);
    // the target trusts its root's key only
    const listed = await spawnRunner.run({ argv: ['gpg', '--homedir', join(h.dir, 'beta/root/etc/portage/gnupg'), '--batch', '--with-colons', '--list-keys'] });
    const fingerprints = listed.tail.filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9]);
    expect(fingerprints).toEqual([b.fingerprint]);
  });

  it("a target moved to another root replaces the old root's key in its keyring", async () => {
    const fromB = await buildSignedBy('beta');
    const a = await host.daemon.builds.signing.of('alpha').ensure();
    // gamma is first served from root alpha (an empty snapshot will do)
    await writeSnapshot({ stateDir: host.stateDir, root: 'alpha', id: 1, files: [], index: 'ARCH: amd64\nPACKAGES: 0\nVERSION: 0\n\n', publishFor: ['gamma'], daemon: host.daemon });
    const gamma = await startNamed('gamma');
    const home = join(gamma.root, 'etc/portage/gnupg');
    const keysIn = async () =>
      (await spawnRunner.run({ argv: ['gpg', '--homedir', home, '--batch', '--with-colons', '--list-keys'] })).tail.filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9]);
    await waitFor(async () => (await keysIn()).includes(a.fingerprint), { what: "alpha's key in gamma's keyring" });
    // gamma is now served from root beta (its own root, say, after its config changed)
    const b = await host.daemon.builds.signing.of('beta').ensure();
    const installed = await publishAndInstall('gamma', 'beta', 1, fromB);
    expect(installed.outcome, installed.error).toBe(InstallOutcome.INSTALL_OUTCOME_INSTALLED);
    expect(await keysIn()).toEqual([b.fingerprint]);
  });
});
