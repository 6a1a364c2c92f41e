import { createHash } from 'node:crypto';
import { mkdir, readFile, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callUnary, indexValue, InstallOutcome, openKeyringToPortage, parsePackagesIndex, type InstallResult } from '@binhost/shared';
import { readGpkg } from './helpers/gpkg.js';
import { spawnRunner } from '@binhost/agent-target';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import type { StartedTarget } from './helpers/start-target.js';
import { clientsFor } from './helpers/clients.js';
import { waitFor } from './helpers/wait-for.js';
import { binhostctl } from './helpers/admin-cli.js';
import { buildTar, syntheticStage3 } from './helpers/tar-builder.js';
import { TEST_PROFILE } from './helpers/emerge-stand-in.js';
import { installReportOf, makePortageMachine, makeTargetSystem, realPortageBuildConfig, realPortageTargetConfig, type PortageMachine } from './helpers/real-portage.js';
import { writeSnapshot } from './helpers/publish-snapshot.js';
import { makeGpgHome } from './helpers/gpg-home.js';

/**
 * The whole loop with real Portage 3.0.83 (scripts/portage.mjs) as the agents' emerge, nothing
 * stubbed: the host builds in a root it prepared from a stage3 and signs, the target mirrors over
 * mTLS and installs from its loopback endpoint with `verify-signature = true`, against keyrings
 * exactly as the agents make them (Portage, run as root, verifies as nobody). Then the refusals
 * happen where Portage refuses, each reported with its cause.
 */
describe('real Portage: build, sign, deliver, install', () => {
  const h = useHarness({ scope: 'all', prefix: 'binhost-real-portage-' });
  let machine: PortageMachine;
  let host: StartedHost;
  let target: StartedTarget;
  const root = () => target.root;
  const vdb = (pf: string, key: string) => readFile(join(root(), 'var/db/pkg/app-misc', pf, key), 'utf8').then((s) => s.trim());

  beforeAll(async () => {
    machine = await makePortageMachine(join(h.dir, 'machine'));
    h.defer(() => host?.daemon.builds.signing.close()); // once the host has stopped
    host = await h.startHost({
      // the machine is Portage's running root: what --root-deps merges for "/" goes there (into
      // the root's own layer of it, in the build sandbox)
      extra: realPortageBuildConfig(machine),
    });
    await makeTargetSystem(join(h.dir, 'alpha/root'), {
      makeConf: 'COMMON_FLAGS="-O2 -pipe -march=native"\nCFLAGS="${COMMON_FLAGS}"\nCXXFLAGS="${COMMON_FLAGS}"\n',
      // calc: a parallel emake, with Portage's GNUMAKEFLAGS=--output-sync=line (no MAKEOPTS here)
      world: ['app-misc/hello', 'app-misc/greet', 'app-misc/calc'],
    });
    target = await h.startTarget({
      name: 'alpha',
      address: host.address,
      extra: realPortageTargetConfig(machine),
    });
  }, 60_000);

  const installOf = (snapshotId: number) => installReportOf(host, 'alpha', snapshotId);

  it('builds in a root prepared from a stage3, signs, and the target installs it with verify-signature = true', async () => {
    await waitFor(() => host.daemon.registry.store.readState('alpha'), { what: "alpha's state on the host" });
    const stage3 = join(h.dir, 'stage3.tar');
    await writeFile(stage3, buildTar(syntheticStage3()));
    const added = await binhostctl(h.pki, h.dir, host.address, ['target', 'add', 'alpha', '--stage3', stage3]);
    expect(added.code, added.stderr).toBe(0);

    const result = await installOf(1);
    expect(result.outcome, `${result.error}\n${result.logTail.join('\n')}`).toBe(InstallOutcome.INSTALL_OUTCOME_INSTALLED);

    // the root: the target's make.conf with -march=native resolved, the profile relinked to the host's repository
    const state = (await host.daemon.registry.store.readState('alpha'))!;
    const march = `-march=${state.nativeFlags!.march}`;
    const rootDir = host.daemon.layout.rootDir('alpha');
    expect(await readFile(join(rootDir, 'etc/portage/make.conf'), 'utf8')).toContain(`COMMON_FLAGS="-O2 -pipe ${march}`);
    expect(await readlink(join(rootDir, 'etc/portage/make.profile'))).toBe(TEST_PROFILE);
    // what Portage built it with, and what it installed on the target
    const cflags = await vdb('hello-1.0', 'CFLAGS');
    expect(cflags.split(' ')).toContain(march);
    expect(cflags).not.toContain('native');
    expect((await vdb('greet-1.0', 'USE')).split(' ')).toContain('loud');
    expect((await vdb('calc-1.0', 'CFLAGS')).split(' ')).toContain(march); // make's output sync needs a writable /tmp
    // signed by the host: every member has its signature
    const snapshot = host.daemon.layout.snapshotDir('alpha', 1);
    const index = parsePackagesIndex(await readFile(join(snapshot, 'Packages'), 'utf8'));
    const greet = index.packages.find((p) => indexValue(p, 'CPV') === 'app-misc/greet-1.0')!;
    const members = readGpkg(await readFile(join(snapshot, indexValue(greet, 'PATH')!))).members.map((m) => m.name);
    expect(members).toEqual(expect.arrayContaining(['metadata.tar.zst.sig', 'image.tar.zst.sig']));
    // the keyrings as Portage needs them: readable by nobody
    for (const home of [join(root(), 'etc/portage/gnupg'), host.daemon.builds.signing.of('alpha').verifyHome]) {
      expect((await stat(home)).mode & 0o777).toBe(0o755);
      expect((await stat(join(home, 'trustdb.gpg'))).mode & 0o644).toBe(0o644);
    }
    expect(await readFile(join(root(), 'etc/portage/binrepos.conf/binhost-agent.conf'), 'utf8')).toContain('verify-signature = true');
    expect(await readFile(join(root(), 'usr/bin/hello'))).toBeTruthy();
    // what each package took, from Portage itself (FEATURES=observability, followed on its socket)
    const build = host.daemon.builds.store.get('alpha', 1)!;
    const built = build.packages.filter((p) => p.forRoot).map((p) => [p.cpv, p.source]);
    expect(built).toEqual(expect.arrayContaining([['app-misc/hello-1.0', 'observability'], ['app-misc/greet-1.0', 'observability']]));
    expect(build.packages.every((p) => p.seconds > 0)).toBe(true);
    const shown = await binhostctl(h.pki, h.dir, host.address, ['builds', 'alpha', '1']);
    expect(shown.stdout).toMatch(/^app-misc\/hello-1\.0\s+root\s+\d+\.\d s\s+.*observability$/m);
    // the build log is plain text: gcc and the ebuild helpers colour their output even off a terminal
    const log = await readFile(join(host.daemon.layout.buildsDir('alpha'), '1.log'), 'utf8');
    expect(log).toContain('>>> Creating binpkg');
    expect(log).not.toContain('\x1b[');
  }, 300_000);

  it("a package.use change flows through: report, apply, rebuild, snapshot 2, reinstall without 'loud'", async () => {
    // meanwhile the admin deleted Portage's keyring, and a broken download was left in Portage's
    // download dir where the next install will look: neither may need a manual step
    await rm(join(root(), 'etc/portage/gnupg'), { recursive: true });
    for (let id = 1; id <= 3; id++) {
      const bad = join(h.dir, 'alpha/target-state/binpkgs/app-misc/greet', `greet-1.0-${id}.gpkg.tar`);
      await mkdir(dirname(bad), { recursive: true });
      await writeFile(bad, Buffer.alloc(20480, 0x41));
    }
    const file = join(root(), 'etc/portage/package.use');
    await writeFile(`${file}.tmp`, 'app-misc/greet -loud\n');
    await rename(`${file}.tmp`, file);
    const result = await installOf(2);
    expect(result.outcome, `${result.error}\n${result.logTail.join('\n')}`).toBe(InstallOutcome.INSTALL_OUTCOME_INSTALLED);
    expect((await vdb('greet-1.0', 'USE')).split(' ')).not.toContain('loud');
    const shown = await binhostctl(h.pki, h.dir, host.address, ['status', 'alpha']);
    expect(shown.stdout).toMatch(/#2/);
  }, 300_000);

  describe('refusals where Portage refuses, reported with their cause', () => {
    let nextId = 100;
    let admin: Awaited<ReturnType<typeof clientsFor>>;
    let foreign: Awaited<ReturnType<typeof makeGpgHome>>;
    beforeAll(async () => {
      admin = await clientsFor(h.pki, host.address, 'admin', 'root');
      foreign = await makeGpgHome(join(h.dir, 'foreign-key'));
    });
    afterAll(async () => {
      admin?.close();
      await foreign?.cleanup();
    });

    /** Builds app-misc/greet (USE as the target now has it) with the machine's real emerge into a scratch root. */
    async function buildGreet(name: string, env: Record<string, string>): Promise<string> {
      const scratch = join(h.dir, name);
      await makeTargetSystem(scratch, { makeConf: 'CFLAGS="-O2 -pipe"\n', world: [], packageUse: 'app-misc/greet -loud\n' });
      const r = await spawnRunner.run({
        argv: [machine.emerge, '--buildpkg', '--oneshot', 'app-misc/greet'],
        env: { ...process.env, ROOT: scratch, PORTAGE_CONFIGROOT: scratch, PKGDIR: join(scratch, 'pkgdir'), PORTAGE_TMPDIR: join(scratch, 'tmp'), ...env },
      });
      expect(r.exitCode, r.tail.join('\n')).toBe(0);
      return join(scratch, 'pkgdir');
    }

    /** Publishes a PKGDIR's packages (its real Packages index, optionally edited) and syncs alpha to it. */
    async function publishAndSync(pkgdir: string, edit?: (index: string, files: Map<string, Buffer>) => string, args: string[] = []): Promise<InstallResult> {
      let index = await readFile(join(pkgdir, 'Packages'), 'utf8');
      const files = new Map<string, Buffer>();
      for (const p of parsePackagesIndex(index).packages) files.set(indexValue(p, 'PATH')!, await readFile(join(pkgdir, indexValue(p, 'PATH')!)));
      if (edit) index = edit(index, files);
      const id = nextId++;
      await writeSnapshot({ stateDir: host.stateDir, root: 'alpha', id, files: [...files].map(([path, data]) => ({ path, data })), index, publishFor: ['alpha'], daemon: host.daemon });
      await callUnary(admin.admin.triggerSync.bind(admin.admin), { target: 'alpha', confirmed: true, args });
      return installOf(id);
    }

    async function expectRefused(result: InstallResult, words: RegExp): Promise<void> {
      expect(result.outcome, result.logTail.join('\n')).toBe(InstallOutcome.INSTALL_OUTCOME_FAILED);
      expect(result.error, result.logTail.join('\n')).toMatch(words);
      // the installed package stayed as it was
      expect((await vdb('greet-1.0', 'USE')).split(' ')).not.toContain('loud');
      // the table shortens it; --verbose shows the cause whole
      const shown = await binhostctl(h.pki, h.dir, host.address, ['status', 'alpha']);
      expect(shown.stdout).toContain(`install of snapshot ${result.snapshotId} failed: ${result.error.slice(0, 10)}`);
      const whole = await binhostctl(h.pki, h.dir, host.address, ['status', 'alpha', '--verbose']);
      expect(whole.stdout).toContain(`alpha: last error: install of snapshot ${result.snapshotId} failed: ${result.error}\n`);
    }

    it('a key the keyring does not have, then the same key without trust', async () => {
      // the other binhost's own verify keyring, as Portage needs one right after signing
      const verify = join(h.dir, 'foreign-verify');
      await mkdir(verify, { mode: 0o755 });
      const armored = await foreign.gpg(['--armor', '--export', foreign.fingerprint]);
      const gpgVerify = (args: string[], input: string | Buffer) => spawnRunner.run({ argv: ['gpg', '--homedir', verify, '--batch', '--no-autostart', ...args], input });
      await gpgVerify(['--import'], armored);
      await gpgVerify(['--import-ownertrust'], `${foreign.fingerprint}:6:\n`);
      await gpgVerify(['--check-trustdb'], '');
      await openKeyringToPortage(verify);
      const signed = await buildGreet('scratch-foreign', {
        FEATURES: 'binpkg-signing',
        BINPKG_FORMAT: 'gpkg',
        BINPKG_GPG_SIGNING_GPG_HOME: foreign.dir,
        BINPKG_GPG_SIGNING_KEY: foreign.fingerprint,
        BINPKG_GPG_VERIFY_GPG_HOME: verify,
      });
      await expectRefused(await publishAndSync(signed), /^signature refused for app-misc\/greet-1\.0: signed with a key the keyring does not have/);
      // the admin imports that key without certifying it: gpg knows it, Portage does not trust it
      const home = join(root(), 'etc/portage/gnupg');
      const imported = await spawnRunner.run({ argv: ['gpg', '--homedir', home, '--batch', '--no-autostart', '--import'], input: armored });
      expect(imported.exitCode).toBe(0);
      await expectRefused(await publishAndSync(signed), /^signature refused for app-misc\/greet-1\.0: signed with a known key of undefined trust/);
    }, 300_000);

    it('an unsigned package', async () => {
      const unsigned = await buildGreet('scratch-unsigned', { BINPKG_FORMAT: 'gpkg' });
      await expectRefused(await publishAndSync(unsigned), /^signature refused for app-misc\/greet-1\.0: the package is unsigned/);
    }, 300_000);

    it('a package changed after signing (index digests rewritten, so only the signature can tell)', async () => {
      const pkgdir = host.daemon.layout.snapshotDir('alpha', 2);
      const result = await publishAndSync(pkgdir, (index, files) => {
        // the newest instance of greet (built without 'loud', as the target now asks)
        const entry = parsePackagesIndex(index).packages.filter((p) => indexValue(p, 'CPV') === 'app-misc/greet-1.0').at(-1)!;
        const path = indexValue(entry, 'PATH')!;
        for (const other of [...files.keys()].filter((k) => k !== path)) files.delete(other);
        const data = Buffer.from(files.get(path)!);
        const header = data.indexOf('/image.tar.zst\0');
        const at = header - (header % 512) + 512 + 200;
        data[at] = data[at]! ^ 0x01;
        files.set(path, data);
        const block = index.split('\n\n').find((b) => b.includes(`PATH: ${path}\n`))!;
        let edited = block;
        for (const [k, algo] of [['MD5', 'md5'], ['SHA1', 'sha1']] as const) edited = edited.replace(`${k}: ${indexValue(entry, k)}`, `${k}: ${createHash(algo).update(data).digest('hex')}`);
        // a new index gets a new TIMESTAMP, as Portage writes it: with the old one, emerge would
        // take the copy it cached of the previous index
        const header0 = index.split('\n\n')[0]!.replace(/^PACKAGES: \d+$/m, 'PACKAGES: 1').replace(/^TIMESTAMP: \d+$/m, `TIMESTAMP: ${Math.floor(Date.now() / 1000) + 1}`);
        return `${header0}\n\n${edited}\n\n`;
        // that instance is the one installed: reinstall it, as `emerge --oneshot` would
      }, ['--oneshot', 'app-misc/greet']);
      await expectRefused(result, /^signature refused for app-misc\/greet-1\.0: BAD signature/);
    }, 300_000);
  });
});
