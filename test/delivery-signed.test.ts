import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { callUnary, InstallOutcome, indexValue, parsePackagesIndex } from '@binhost/shared';
import { spawnRunner } from '@binhost/agent-target';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import { clientsFor } from './helpers/clients.js';
import { waitFor } from './helpers/wait-for.js';
import { writeSnapshot } from './helpers/publish-snapshot.js';

const STAND_IN = fileURLToPath(new URL('./fixtures/bin/emerge', import.meta.url));
const MAKE_CONF = 'CFLAGS="-O2 -pipe -march=x86-64-v2"\nCXXFLAGS="${CFLAGS}"\nUSE=""\n';

/**
 * Signed packages end to end with the stand-in emerge (test/fixtures/bin/emerge): built and signed
 * with the host's own signing key, mirrored over mTLS, and installed by the stand-in from the
 * agent's loopback endpoint with `verify-signature = true` against the keyring the agent filled
 * from GetSigningKey.
 */
describe('signed delivery with the stand-in emerge', () => {
  const h = useHarness();
  let host: StartedHost | undefined;

  beforeEach(async () => {
    host = await h.startHost();
  });

  /** Builds app-misc/hello with the stand-in, signed by the host's key; returns PKGDIR. */
  async function buildSigned(): Promise<string> {
    const signing = host!.daemon.builds.signing.of('alpha');
    const key = await signing.ensure();
    const root = join(h.dir, 'build');
    await mkdir(join(root, 'etc/portage'), { recursive: true });
    // the stand-in reads the signing settings from make.conf only (as Portage does without env)
    await writeFile(
      join(root, 'etc/portage/make.conf'),
      `${MAKE_CONF}FEATURES="binpkg-signing"\nBINPKG_GPG_SIGNING_GPG_HOME="${signing.homeDir}"\nBINPKG_GPG_SIGNING_KEY="${key.fingerprint}"\nBINPKG_GPG_VERIFY_GPG_HOME="${signing.verifyHome}"\n`,
    );
    const pkgdir = join(root, 'var/cache/binpkgs');
    const r = await spawnRunner.run({
      argv: [process.execPath, STAND_IN, '--buildpkg', '--root-deps', 'app-misc/hello'],
      env: {
        ...process.env,
        ROOT: root + '/',
        PORTAGE_CONFIGROOT: root + '/',
        PKGDIR: pkgdir,
      },
    });
    expect(r.exitCode, r.tail.join('\n')).toBe(0);
    return pkgdir;
  }

  /** Publishes PKGDIR's packages as snapshot 1 (optionally tampering with the gpkg first). */
  async function publishFrom(pkgdir: string, tamper = false): Promise<{ path: string; data: Buffer }> {
    let index = await readFile(join(pkgdir, 'Packages'), 'utf8');
    const entry = parsePackagesIndex(index).packages.find((p) => indexValue(p, 'CPV') === 'app-misc/hello-1.0')!;
    const path = indexValue(entry, 'PATH')!;
    const data = await readFile(join(pkgdir, path));
    if (tamper) {
      // one byte inside image.tar.zst flipped, and the index digests rewritten to match, so the
      // download checks pass and only the signature can tell (transcripts/refused-tampered.txt)
      const header = data.indexOf('/image.tar.zst\0');
      expect(header).toBeGreaterThan(0);
      const dataStart = header - (header % 512) + 512;
      data[dataStart + 200] = data[dataStart + 200]! ^ 0x01;
      for (const [k, algo] of [['MD5', 'md5'], ['SHA1', 'sha1']] as const) {
        index = index.replace(`${k}: ${indexValue(entry, k)}`, `${k}: ${createHash(algo).update(data).digest('hex')}`);
      }
    }
    await writeSnapshot({ stateDir: host!.stateDir, root: 'alpha', id: 1, files: [{ path, data }], index, publishFor: ['alpha'], daemon: host!.daemon });
    return { path, data };
  }

  async function startAndInstall() {
    const root = join(h.dir, 'alpha', 'root');
    await mkdir(join(root, 'etc/portage'), { recursive: true });
    await writeFile(join(root, 'etc/portage/make.conf'), MAKE_CONF);
    await h.startTarget({
      name: 'alpha',
      address: host!.address,
      extra: `[install]\npolicy = "auto"\nemerge = ${JSON.stringify([process.execPath, STAND_IN])}\n`,
    });
    await waitFor(() => host!.daemon.registry.isConnected('alpha'), { timeoutMs: 30_000, what: 'connected' });
    await waitFor(() => readFile(join(root, 'etc/portage/gnupg/pubring.kbx')).catch(() => undefined), { timeoutMs: 30_000, what: 'keyring filled' });
    const admin = await clientsFor(h.pki, host!.address, 'admin', 'root');
    try {
      const sync = await callUnary(admin.admin.triggerSync.bind(admin.admin), { target: 'alpha', confirmed: true, args: ['app-misc/hello'] });
      return await waitFor(async () => {
        const last = await host!.daemon.installs.last('alpha');
        return last?.requestId === sync.requestId && last;
      }, { timeoutMs: 30_000, what: 'install result' });
    } finally {
      admin.close();
    }
  }

  it('installs a package signed by the host key, with the build CFLAGS in /var/db/pkg', async () => {
    const { data } = await publishFrom(await buildSigned());
    const result = await startAndInstall();
    expect(result.outcome, `${result.error}\n${result.logTail.join('\n')}`).toBe(InstallOutcome.INSTALL_OUTCOME_INSTALLED);
    const vdb = join(h.dir, 'alpha/root/var/db/pkg/app-misc/hello-1.0');
    expect(await readFile(join(vdb, 'CFLAGS'), 'utf8')).toContain('-march=x86-64-v2');
    expect((await readFile(join(vdb, 'BINPKGMD5'), 'utf8')).trim()).toBe(createHash('md5').update(data).digest('hex'));
  });

  it('refuses a package altered after signing: the mirror passes it (index rewritten), the signature does not', async () => {
    await publishFrom(await buildSigned(), true);
    const result = await startAndInstall();
    expect(result.outcome).toBe(InstallOutcome.INSTALL_OUTCOME_FAILED);
    expect(result.logTail.join('\n')).toMatch(/GnuPG verification failed/);
    expect(await readFile(join(h.dir, 'alpha/root/var/db/pkg/app-misc/hello-1.0/CFLAGS'), 'utf8').catch(() => 'none')).toBe('none');
  });
});
