import { afterEach, describe, expect, it } from 'vitest';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { indexValue, parsePackagesIndex, serializePackagesIndex } from '@binhost/shared';
import { readGpkg } from './helpers/gpkg.js';
import { createHash } from 'node:crypto';
import { rewriteIndexDigests } from './helpers/index-digests.js';
import { useHarness } from './helpers/harness.js';
import { makePortageRoot, runEmerge } from './helpers/emerge-stand-in.js';
import { serveDirectory, type StaticServer } from './helpers/static-server.js';
import { importPublicKey, makeGpgHome, type GpgHome } from './helpers/gpg-home.js';

const MAKE_CONF = 'COMMON_FLAGS="-O2 -pipe -march=x86-64-v3"\nCFLAGS="${COMMON_FLAGS}"\nCXXFLAGS="${COMMON_FLAGS}"\n';
const INSTALL = ['--getbinpkgonly', '--binpkg-respect-use=y', '--binpkg-changed-deps=y'];
const fixturePath = (name: string) => fileURLToPath(new URL(`./fixtures/portage/${name}`, import.meta.url));

/** Real transcript lines from the first line starting with `from`, placeholders filled in for `root`. */
async function transcriptFrom(name: string, root: string, from: string): Promise<string[]> {
  const base = root.replace(/\/$/, '');
  const lines = (await readFile(fixturePath(`transcripts/${name}`), 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => l.replaceAll('$ROOT', base));
  return lines.slice(lines.findIndex((l) => l.startsWith(from)));
}

function tail(output: string, n: number): string[] {
  return output.trimEnd().split('\n').slice(-n);
}

describe('stand-in emerge --getbinpkgonly', () => {
  const h = useHarness({ prefix: 'stand-in-install-', pki: false });
  let server: StaticServer | undefined;
  const homes: GpgHome[] = [];

  afterEach(async () => {
    await server?.close();
    server = undefined;
    for (const home of homes.splice(0)) await home.cleanup();
  });

  /** A binhost root (optionally signing) with `atoms` built, served over HTTP. */
  async function binhost(atoms: string[], signer?: GpgHome, extra = ''): Promise<{ root: string; pkgdir: string }> {
    // signing switched on in make.conf, the settings the host passes through the environment
    const signing = signer ? `FEATURES="binpkg-signing"\nBINPKG_FORMAT="gpkg"\nBINPKG_GPG_SIGNING_GPG_HOME="${signer.dir}"\nBINPKG_GPG_SIGNING_KEY="${signer.fingerprint}"\nBINPKG_GPG_VERIFY_GPG_HOME="${signer.dir}"\n` : '';
    const makeConf = MAKE_CONF + extra + signing;
    const root = await makePortageRoot(join(h.dir, 'binhost'), { makeConf });
    const run = await runEmerge(root, ['--buildpkg', '--root-deps', ...atoms]);
    expect(run.code, run.output).toBe(0);
    const pkgdir = join(root, 'var/cache/binpkgs');
    server ??= await serveDirectory(pkgdir);
    return { root, pkgdir };
  }

  async function target(options: { verify?: boolean; packageUse?: string; name?: string } = {}): Promise<string> {
    return makePortageRoot(join(h.dir, options.name ?? 'target'), {
      makeConf: MAKE_CONF,
      ...(options.packageUse !== undefined ? { packageUse: options.packageUse } : {}),
      binreposConf: `[binhost]\nsync-uri = ${server!.url}\npriority = 10\nverify-signature = ${options.verify ? 'true' : 'false'}\nlocation = %(EROOT)svar/cache/binhost/binhost\n`,
    });
  }

  async function targetKeyring(root: string, signer: GpgHome | undefined, trust = true): Promise<GpgHome> {
    const home = await makeGpgHome(join(root, 'etc/portage/gnupg'), false);
    homes.push(home);
    if (signer) await importPublicKey(signer, home, trust);
    return home;
  }

  it('prints the real plan format with --pretend and installs nothing', async () => {
    await binhost(['app-misc/hello-user', 'app-misc/greet']);
    const root = await target();
    const run = await runEmerge(root, ['--pretend', ...INSTALL, 'app-misc/hello-user', 'app-misc/greet']);
    expect(run.code, run.output).toBe(0);
    expect(tail(run.output, 3)).toEqual(await transcriptFrom('target-pretend-available.txt', root, '[binary'));
    expect(existsSync(join(root, 'var/db/pkg'))).toBe(false);
  });

  it('installs over HTTP, checks digests, records /var/db/pkg with the binhost\'s CFLAGS', async () => {
    await binhost(['app-misc/hello-user', 'app-misc/greet']);
    const root = await target();
    const run = await runEmerge(root, [...INSTALL, 'app-misc/hello-user', 'app-misc/greet']);
    expect(run.code, run.output).toBe(0);
    const real = (await transcriptFrom('target-install.txt', root, '>>> Emerging binary')).filter((l) => !/^ \* (Fetching|\$ROOT|To view|tail -f)/.test(l) && !l.includes('.partial'));
    expect(run.output.trimEnd().split('\n').filter((l) => !l.includes('.partial')).slice(-real.length)).toEqual(real);
    expect(await readFile(join(root, 'var/db/pkg/app-misc/hello-1.0/CFLAGS'), 'utf8')).toBe('-O2 -pipe -march=x86-64-v3\n');
    expect(await readFile(join(root, 'var/lib/portage/world'), 'utf8')).toBe('app-misc/greet\napp-misc/hello-user\n');
    expect(existsSync(join(root, 'usr/bin/hello'))).toBe(true);
    expect(existsSync(join(root, 'var/cache/binhost/binhost/app-misc/hello/hello-1.0-1.gpkg.tar'))).toBe(true);
    // nothing new to do: --update --deep keeps the installed instances
    const again = await runEmerge(root, [...INSTALL, '--update', '--deep', '--newuse', '@world']);
    expect(again.code, again.output).toBe(0);
    expect(again.output).not.toContain('>>> Emerging');
  });

  it('refuses a binpkg built with other USE, with the real masking message', async () => {
    await binhost(['app-misc/greet']);
    const root = await target({ packageUse: 'app-misc/greet -loud\n' });
    const run = await runEmerge(root, [...INSTALL, 'app-misc/greet']);
    expect(run.code).toBe(1);
    const real = await transcriptFrom('target-use-mismatch-refused.txt', root, '!!! All ebuilds');
    expect(tail(run.output, real.length)).toEqual(real);
    expect(existsSync(join(root, 'var/db/pkg/app-misc/greet-1.0'))).toBe(false);
  });

  it('reads binrepos.conf and package.use as directories, skipping an unreachable binhost', async () => {
    await binhost(['app-misc/greet']);
    const root = await makePortageRoot(join(h.dir, 'target'), { makeConf: MAKE_CONF });
    await mkdir(join(root, 'etc/portage/binrepos.conf'));
    await writeFile(join(root, 'etc/portage/binrepos.conf/gentoobinhost.conf'), '[gentoobinhost]\nsync-uri = http://127.0.0.1:1/nothing\npriority = 1\n');
    await writeFile(join(root, 'etc/portage/binrepos.conf/zz-binhost.conf'), `[binhost]\nsync-uri = ${server!.url}\npriority = 10\n`);
    await mkdir(join(root, 'etc/portage/package.use'));
    await writeFile(join(root, 'etc/portage/package.use/greet'), '# quiet please\napp-misc/greet -loud\n');
    const refused = await runEmerge(root, [...INSTALL, 'app-misc/greet']);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain("!!! Error fetching binhost package info from 'http://127.0.0.1:1/nothing'");
    expect(refused.output).toContain('!!! All ebuilds that could satisfy "app-misc/greet"');
    await writeFile(join(root, 'etc/portage/package.use/greet'), 'app-misc/greet loud\n');
    const ok = await runEmerge(root, [...INSTALL, 'app-misc/greet']);
    expect(ok.code, ok.output).toBe(0);
    expect(existsSync(join(root, 'var/cache/binhost/binhost/app-misc/greet/greet-1.0-1.gpkg.tar'))).toBe(true);
  });

  it('says there are no binary packages for an atom the binhost lacks', async () => {
    await binhost(['app-misc/greet']);
    const root = await target();
    const run = await runEmerge(root, ['--pretend', ...INSTALL, 'app-misc/greet', 'app-misc/broken']);
    expect(run.code).toBe(1);
    expect(run.output).toContain(`\n\nemerge: there are no binary packages to satisfy "app-misc/broken" for ${root}.`);
  });

  it('fails cleanly when a binpkg named in the index is missing or its PATH escapes', async () => {
    const { pkgdir } = await binhost(['app-misc/hello']);
    const text = await readFile(join(pkgdir, 'Packages'), 'utf8');
    await writeFile(join(pkgdir, 'Packages'), text.replace('PATH: app-misc/hello/hello-1.0-1.gpkg.tar', 'PATH: app-misc/hello/gone.gpkg.tar'));
    const root = await target();
    const missing = await runEmerge(root, [...INSTALL, 'app-misc/hello']);
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('!!! HTTP Error 404');
    expect(missing.output).toContain(`>>> Failed to emerge app-misc/hello-1.0 for ${root}, Log file:`);
    await writeFile(join(pkgdir, 'Packages'), text.replace('PATH: app-misc/hello/hello-1.0-1.gpkg.tar', 'PATH: ../../etc/passwd'));
    const escaping = await runEmerge(root, [...INSTALL, 'app-misc/hello']);
    expect(escaping.code).toBe(1);
    expect(escaping.output).toContain('unsafe PATH in Packages: "../../etc/passwd"');
  });

  it('refuses a download whose MD5 does not match the index', async () => {
    const { pkgdir } = await binhost(['app-misc/hello']);
    const index = parsePackagesIndex(await readFile(join(pkgdir, 'Packages'), 'utf8'));
    const packages = index.packages.map((p) => p.map(([k, v]) => [k, k === 'MD5' ? '0'.repeat(32) : v] as const));
    await writeFile(join(pkgdir, 'Packages'), serializePackagesIndex({ header: index.header, packages }));
    const root = await target();
    const run = await runEmerge(root, [...INSTALL, 'app-misc/hello']);
    expect(run.code).toBe(1);
    expect(run.output).toContain('!!! Fetched file: hello-1.0-1.gpkg.tar VERIFY FAILED!');
    expect(run.output).toContain('!!! Reason: Failed on MD5 verification');
    expect(run.output).toContain(`>>> Failed to emerge app-misc/hello-1.0 for ${root}, Log file:`);
    expect(existsSync(join(root, 'var/db/pkg/app-misc/hello-1.0'))).toBe(false);
  });

  it('signs with binpkg-signing (the real signed layout) and installs after verifying with a trusted keyring', async () => {
    const signer = await makeGpgHome(join(h.dir, 'signer'));
    homes.push(signer);
    const { pkgdir } = await binhost(['app-misc/hello'], signer);
    const buf = await readFile(join(pkgdir, 'app-misc/hello/hello-1.0-1.gpkg.tar'));
    const info = readGpkg(buf);
    const real = readGpkg(await readFile(fixturePath('signed/hello-1.0-1.gpkg.tar')));
    expect(info.members.map((m) => m.name)).toEqual(real.members.map((m) => m.name));
    expect(info.manifestSigned).toBe(true);
    const manifest = buf.subarray(info.members.at(-1)!.offset, info.members.at(-1)!.offset + info.members.at(-1)!.size).toString();
    expect(manifest.startsWith('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nDATA gpkg-1 0 SHA512 ')).toBe(true);
    await signer.gpg(['--verify'], manifest);
    const root = await target({ verify: true });
    await targetKeyring(root, signer);
    const run = await runEmerge(root, [...INSTALL, 'app-misc/hello']);
    expect(run.code, run.output).toBe(0);
    expect(run.output).not.toContain('verification failed');
    expect(await readFile(join(root, 'var/db/pkg/app-misc/hello-1.0/BINPKGMD5'), 'utf8')).toBe(createHash('md5').update(buf).digest('hex') + '\n');
  });

  it('takes the signing settings from the environment, as the host agent passes them (env wins over make.conf)', async () => {
    const signer = await makeGpgHome(join(h.dir, 'signer'));
    homes.push(signer);
    const root = await makePortageRoot(join(h.dir, 'binhost'), { makeConf: MAKE_CONF + 'FEATURES="-binpkg-signing"\nCFLAGS="-O1"\n' });
    const env = {
      FEATURES: 'binpkg-signing',
      BINPKG_FORMAT: 'gpkg',
      BINPKG_GPG_SIGNING_GPG_HOME: signer.dir,
      BINPKG_GPG_SIGNING_KEY: signer.fingerprint,
      BINPKG_GPG_VERIFY_GPG_HOME: signer.dir,
      CFLAGS: '-O2 -march=x86-64-v2',
    };
    const run = await runEmerge(root, ['--buildpkg', 'app-misc/hello'], env);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('gcc -O2 -march=x86-64-v2 -o hello hello.c');
    const info = readGpkg(await readFile(join(root, 'var/cache/binpkgs/app-misc/hello/hello-1.0-1.gpkg.tar')));
    expect(info.signed).toBe(true);
    expect(await readFile(join(root, 'var/db/pkg/app-misc/hello-1.0/FEATURES'), 'utf8')).toContain(' binpkg-signing ');
  });

  it('fails a signed build when the binhost cannot verify its own signature (no verify keyring)', async () => {
    const signer = await makeGpgHome(join(h.dir, 'signer'));
    homes.push(signer);
    const sign = `FEATURES="binpkg-signing"\nBINPKG_GPG_SIGNING_GPG_HOME="${signer.dir}"\nBINPKG_GPG_SIGNING_KEY="${signer.fingerprint}"\n`;
    const root = await makePortageRoot(join(h.dir, 'binhost'), { makeConf: MAKE_CONF + sign });
    const run = await runEmerge(root, ['--buildpkg', 'app-misc/hello']);
    expect(run.code).toBe(1);
    expect(run.output).toContain(' * \tbinpkg signed with at least one unknown key.');
    expect(run.output).toMatch(/!!! Invalid binary package: '.*hello-1\.0-1\.gpkg\.tar.*', GnuPG verification failed/);
    expect(existsSync(join(root, 'var/cache/binpkgs/app-misc/hello/hello-1.0-1.gpkg.tar'))).toBe(false);
  });

  it('refuses unsigned, unknown-key, untrusted-key and tampered packages with Portage\'s summaries', async () => {
    const signer = await makeGpgHome(join(h.dir, 'signer'));
    const other = await makeGpgHome(join(h.dir, 'other'));
    homes.push(signer, other);
    const { pkgdir } = await binhost(['app-misc/hello'], signer);
    const cases: Array<[string, GpgHome | undefined, boolean, string]> = [
      ['unknown', other, true, 'binpkg signed with at least one unknown key.'],
      ['untrusted', signer, false, 'binpkg signed with a known key of undefined trust.'],
    ];
    for (const [name, key, trust, summary] of cases) {
      const root = await target({ verify: true, name });
      await targetKeyring(root, key, trust);
      const run = await runEmerge(root, [...INSTALL, 'app-misc/hello']);
      expect(run.code, name).toBe(1);
      expect(run.output).toContain(` * Binary package is not usable (verification failed):\n *  Summary:\n * \t${summary}`);
      expect(run.output).toContain(`!!! Error extracting '${root}var/cache/binhost/binhost/app-misc/hello/hello-1.0-1.gpkg.tar', GnuPG verification failed`);
      expect(existsSync(join(root, 'var/db/pkg/app-misc/hello-1.0')), name).toBe(false);
    }

    // a good install first, so the tampered one must leave it untouched
    const root = await target({ verify: true, name: 'tampered' });
    await targetKeyring(root, signer);
    expect((await runEmerge(root, [...INSTALL, 'app-misc/hello'])).code).toBe(0);
    const before = await readFile(join(root, 'var/db/pkg/app-misc/hello-1.0/BINPKGMD5'), 'utf8');
    const file = join(pkgdir, 'app-misc/hello/hello-1.0-1.gpkg.tar');
    const buf = Buffer.from(await readFile(file));
    const image = readGpkg(buf).members.find((m) => m.name === 'image.tar.zst')!;
    buf[image.offset + 40]! ^= 0x01;
    await writeFile(file, buf);
    await rewriteIndexDigests(pkgdir, buf);
    const run = await runEmerge(root, [...INSTALL, 'app-misc/hello']);
    expect(run.code).toBe(1);
    expect(run.output).toContain(`>>> Extracting app-misc/hello-1.0\n * Binary package is not usable (verification failed):\n *  Summary:\n * \t(none available)`);
    expect(run.output).toMatch(/\[GNUPG:\] BADSIG/);
    expect(await readFile(join(root, 'var/db/pkg/app-misc/hello-1.0/BINPKGMD5'), 'utf8')).toBe(before);

    // unsigned (built without binpkg-signing) with verify-signature = true
    await runEmerge((await binhostUnsigned()).root, ['--buildpkg', 'app-misc/greet']);
    const unsignedRoot = await target({ verify: true, name: 'unsigned' });
    await targetKeyring(unsignedRoot, signer);
    const unsigned = await runEmerge(unsignedRoot, [...INSTALL, 'app-misc/greet']);
    expect(unsigned.code).toBe(1);
    const real = await transcriptFrom('refused-unsigned.txt', unsignedRoot, ' * Binary package is not usable');
    expect(unsigned.output).toContain(real.slice(0, 3).join('\n'));
  });

  async function binhostUnsigned(): Promise<{ root: string }> {
    // same binhost root and PKGDIR, signing switched off for this build (as binhost-build-greet-unsigned.txt)
    return { root: await makePortageRoot(join(h.dir, 'binhost'), { makeConf: MAKE_CONF, profile: null }) };
  }

  it('installs the real Portage-signed gpkg fixture, verifying it with the real public key', async () => {
    const pkgdir = join(h.dir, 'real-binhost');
    await mkdir(join(pkgdir, 'app-misc/hello'), { recursive: true });
    await cp(fixturePath('signed/hello-1.0-1.gpkg.tar'), join(pkgdir, 'app-misc/hello/hello-1.0-1.gpkg.tar'));
    const index = parsePackagesIndex(await readFile(fixturePath('signed/Packages'), 'utf8'));
    const hello = index.packages.filter((p) => indexValue(p, 'CPV') === 'app-misc/hello-1.0');
    await writeFile(join(pkgdir, 'Packages'), serializePackagesIndex({ header: index.header, packages: hello }));
    server = await serveDirectory(pkgdir);
    const root = await target({ verify: true });
    const keyring = await targetKeyring(root, undefined);
    await keyring.gpg(['--no-autostart', '--import'], await readFile(fixturePath('signed/signing-key.asc')));
    await keyring.gpg(['--import-ownertrust'], 'A1C4469EE81EF44CBA0CB5DA340EA36BE813955C:6:\n');
    const run = await runEmerge(root, [...INSTALL, 'app-misc/hello']);
    expect(run.code, run.output).toBe(0);
    // byte for byte what real Portage recorded for the same package (fixtures/portage/vdb/hello-1.0)
    const files = ['BINPKGMD5', 'BUILD_ID', 'BUILD_TIME', 'CATEGORY', 'CBUILD', 'CFLAGS', 'CHOST', 'CXXFLAGS', 'DEFINED_PHASES',
      'DESCRIPTION', 'EAPI', 'FEATURES', 'HOMEPAGE', 'IUSE', 'IUSE_EFFECTIVE', 'KEYWORDS', 'LICENSE', 'PF', 'REQUIRES', 'SIZE', 'SLOT',
      'USE', 'repository', 'hello-1.0.ebuild'];
    for (const f of files) {
      const want = await readFile(fixturePath(`vdb/hello-1.0/${f}`), 'utf8');
      expect([f, await readFile(join(root, 'var/db/pkg/app-misc/hello-1.0', f), 'utf8')]).toEqual([f, want]);
    }
    const contents = await readFile(join(root, 'var/db/pkg/app-misc/hello-1.0/CONTENTS'), 'utf8');
    expect(contents).toMatch(/^dir \/usr\ndir \/usr\/bin\nobj \/usr\/bin\/hello 1951ba435350f517d632680312909207 \d+\n$/);
  });
});
