import { beforeEach, describe, expect, it } from 'vitest';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { indexValue, makeConfValues, parsePackagesIndex, serializePackagesIndex } from '@binhost/shared';
import { checkGpkgManifest, listTarMembers, readGpkg } from './helpers/gpkg.js';
import { useHarness } from './helpers/harness.js';
import { makePortageRoot, runEmerge } from './helpers/emerge-stand-in.js';

const MAKE_CONF = 'COMMON_FLAGS="-O2 -pipe -march=x86-64-v3"\nCFLAGS="${COMMON_FLAGS}"\nCXXFLAGS="${COMMON_FLAGS}"\n';
const fixture = (name: string) => readFile(fileURLToPath(new URL(`./fixtures/portage/${name}`, import.meta.url)), 'utf8');

/** A real transcript with its placeholders filled in for `root` (ROOT = PORTAGE_CONFIGROOT). */
async function transcript(name: string, root: string): Promise<string[]> {
  const base = root.replace(/\/$/, '');
  return (await fixture(`transcripts/${name}`))
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replaceAll('$WORKDIR/host/var/tmp', `${base}/var/tmp`).replaceAll('$ROOT', base));
}

/** Files of a zstd-compressed tar member, via the zstd CLI. */
function zstdTarFiles(data: Uint8Array): Map<string, string> {
  const res = spawnSync('zstd', ['-d', '-c', '-q'], { input: data });
  const tar = res.stdout;
  return new Map(listTarMembers(tar).map((m) => [m.path, tar.subarray(m.offset, m.offset + m.size).toString()]));
}

describe('stand-in emerge --buildpkg', () => {
  const h = useHarness({ prefix: 'stand-in-build-', pki: false });
  let root: string;

  beforeEach(async () => {
    root = await makePortageRoot(join(h.dir, 'binhost'), { makeConf: MAKE_CONF });
  });

  it('writes a Packages index with the real header keys and per-package key order', async () => {
    const run = await runEmerge(root, ['--buildpkg', '--root-deps', '--jobs=1', '--nospinner', '--quiet-build=n', 'app-misc/hello-user', 'app-misc/greet']);
    expect(run.code, run.output).toBe(0);
    const text = await readFile(join(root, 'var/cache/binpkgs/Packages'), 'utf8');
    const mine = parsePackagesIndex(text);
    expect(serializePackagesIndex(mine)).toBe(text);
    const real = parsePackagesIndex(await fixture('Packages'));
    expect(mine.header.map(([k]) => k)).toEqual(real.header.map(([k]) => k));
    for (const [k, v] of real.header) if (!['TIMESTAMP', 'PACKAGES'].includes(k)) expect([k, indexValue(mine.header, k)]).toEqual([k, v]);
    expect(indexValue(mine.header, 'PACKAGES')).toBe('3');
    for (const cpv of ['app-misc/greet-1.0', 'app-misc/hello-1.0', 'app-misc/hello-user-1.0']) {
      const a = mine.packages.find((p) => indexValue(p, 'CPV') === cpv)!;
      const b = real.packages.find((p) => indexValue(p, 'CPV') === cpv)!;
      // REPO_REVISIONS ({} in the real index for one package) is not written by the stand-in
      expect(a.map(([k]) => k), cpv).toEqual(b.map(([k]) => k).filter((k) => k !== 'REPO_REVISIONS'));
      for (const k of ['CPV', 'BUILD_ID', 'DEFINED_PHASES', 'EAPI', 'IUSE', 'KEYWORDS', 'LICENSE', 'PATH', 'USE', 'DEPEND', 'RDEPEND', 'REQUIRES', 'REPO']) {
        expect([cpv, k, indexValue(a, k)]).toEqual([cpv, k, indexValue(b, k)]);
      }
    }
  });

  it('writes gpkg files whose members, order and Manifest match the real format, with CFLAGS and USE in metadata', async () => {
    const run = await runEmerge(root, ['--buildpkg', 'app-misc/greet']);
    expect(run.code, run.output).toBe(0);
    const index = parsePackagesIndex(await readFile(join(root, 'var/cache/binpkgs/Packages'), 'utf8'));
    const entry = index.packages[0]!;
    const buf = await readFile(join(root, 'var/cache/binpkgs', indexValue(entry, 'PATH')!));
    expect(String(buf.length)).toBe(indexValue(entry, 'SIZE'));
    expect(buf.length % 10240).toBe(0);
    const info = readGpkg(buf, 'greet');
    const real = readGpkg(await readFile(fileURLToPath(new URL('./fixtures/portage/hello-1.0-1.gpkg.tar', import.meta.url))));
    expect(info.basename).toBe('greet-1.0-1');
    expect(info.members.map((m) => m.name)).toEqual(real.members.map((m) => m.name));
    expect(info.manifest.map((e) => [...e.hashes.keys()])).toEqual(real.manifest.map((e) => [...e.hashes.keys()]));
    expect(info.signed).toBe(false);
    expect(checkGpkgManifest(buf, info)).toEqual([]);
    const meta = zstdTarFiles(buf.subarray(info.members[1]!.offset, info.members[1]!.offset + info.members[1]!.size));
    expect(meta.get('metadata/CFLAGS')).toBe('-O2 -pipe -march=x86-64-v3\n');
    expect(meta.get('metadata/CXXFLAGS')).toBe('-O2 -pipe -march=x86-64-v3\n');
    expect(meta.get('metadata/USE')).toBe('amd64 elibc_glibc kernel_linux loud userland_GNU\n');
    expect(meta.get('metadata/IUSE')).toBe('+loud\n');
    expect(meta.get('metadata/BUILD_ID')).toBe('1\n');
    expect(meta.get('metadata/CATEGORY')).toBe('app-misc\n');
    expect(meta.get('metadata/PF')).toBe('greet-1.0\n');
    expect(meta.get('metadata/CHOST')).toBe('x86_64-pc-linux-gnu\n');
    const image = zstdTarFiles(buf.subarray(info.members[2]!.offset, info.members[2]!.offset + info.members[2]!.size));
    expect([...image.keys()]).toEqual(['image/usr/bin/greet']);
    // installed into ROOT too, with the vdb entry carrying the make.conf flags
    expect(await readFile(join(root, 'var/db/pkg/app-misc/greet-1.0/CFLAGS'), 'utf8')).toBe(makeConfValues(MAKE_CONF, 'make.conf').get('CFLAGS') + '\n');
    expect(await readFile(join(root, 'var/lib/portage/world'), 'utf8')).toBe('app-misc/greet\n');
    // the vdb entry has the files real Portage records (vdb/hello-1.0.files.txt) except the bash environment
    const realFiles = (await fixture('vdb/hello-1.0.files.txt')).trim().split('\n').map((f) => f.replace('hello-1.0.ebuild', 'greet-1.0.ebuild'));
    const mine = (await readdir(join(root, 'var/db/pkg/app-misc/greet-1.0'))).sort();
    expect(mine).toEqual(realFiles.filter((f) => !['environment.bz2', 'metadata'].includes(f)).sort());
    const run2 = spawnSync(join(root, 'usr/bin/greet'));
    expect(run2.stdout.toString()).toBe('HELLO!\n');
  });

  it('follows package.use and rebuilds with --update --newuse only what changed', async () => {
    expect((await runEmerge(root, ['--buildpkg', 'app-misc/greet', 'app-misc/hello'])).code).toBe(0);
    const again = await runEmerge(root, ['--buildpkg', '--update', '--deep', '--newuse', '@world']);
    expect(again.code, again.output).toBe(0);
    expect(again.output).not.toContain('>>> Emerging');
    await makePortageRoot(join(h.dir, 'binhost'), { makeConf: MAKE_CONF, profile: null, packageUse: 'app-misc/greet -loud\n' });
    const newuse = await runEmerge(root, ['--buildpkg', '--update', '--deep', '--newuse', '@world']);
    expect(newuse.code, newuse.output).toBe(0);
    expect(newuse.output).toContain(`>>> Emerging (1 of 1) app-misc/greet-1.0::gentoo for ${root}`);
    expect(await readFile(join(root, 'var/db/pkg/app-misc/greet-1.0/USE'), 'utf8')).toBe('amd64 elibc_glibc kernel_linux userland_GNU\n');
    expect(spawnSync(join(root, 'usr/bin/greet')).stdout.toString()).toBe('hello\n');
    const index = parsePackagesIndex(await readFile(join(root, 'var/cache/binpkgs/Packages'), 'utf8'));
    expect(index.packages.filter((p) => indexValue(p, 'CPV') === 'app-misc/greet-1.0').map((p) => indexValue(p, 'BUILD_ID'))).toEqual(['1', '2']);
  });

  it('rebuilds everything when make.conf CFLAGS change (stand-in rule) and --pretend lists it', async () => {
    expect((await runEmerge(root, ['--buildpkg', 'app-misc/hello-user'])).code).toBe(0);
    await makePortageRoot(join(h.dir, 'binhost'), { makeConf: 'CFLAGS="-O1"\n', profile: null });
    const pretend = await runEmerge(root, ['--pretend', '--buildpkg', '--update', '--deep', '--newuse', '@world']);
    expect(pretend.output.split('\n').filter((l) => l.startsWith('['))).toEqual([
      `[ebuild   R    ] app-misc/hello-1.0::gentoo to ${root}`,
      `[ebuild   R    ] app-misc/hello-user-1.0::gentoo to ${root}`,
    ]);
    const run = await runEmerge(root, ['--buildpkg', '--update', '--deep', '--newuse', '--quiet-build', '@world']);
    expect(run.code, run.output).toBe(0);
    expect(run.output).not.toContain('>>> Unpacking source...');
    expect(await readFile(join(root, 'var/db/pkg/app-misc/hello-1.0/CFLAGS'), 'utf8')).toBe('-O1\n');
  });

  it('reuses a matching PKGDIR binpkg with --usepkg instead of rebuilding', async () => {
    expect((await runEmerge(root, ['--buildpkg', 'app-misc/greet'])).code).toBe(0);
    await makePortageRoot(join(h.dir, 'binhost'), { makeConf: MAKE_CONF, profile: null, packageUse: 'app-misc/greet -loud\n' });
    expect((await runEmerge(root, ['--buildpkg', '-uDN', '--usepkg', '@world'])).code).toBe(0);
    await makePortageRoot(join(h.dir, 'binhost'), { makeConf: MAKE_CONF, profile: null, packageUse: '' });
    const back = await runEmerge(root, ['--buildpkg', '--update', '--deep', '--newuse', '--usepkg', '@world']);
    expect(back.code, back.output).toBe(0);
    expect(back.output).toContain(`>>> Emerging binary (1 of 1) app-misc/greet-1.0::gentoo for ${root}`);
    expect(back.output).not.toContain('>>> Creating binpkg');
    expect(await readFile(join(root, 'var/db/pkg/app-misc/greet-1.0/BUILD_ID'), 'utf8')).toBe('1');
    const index = parsePackagesIndex(await readFile(join(root, 'var/cache/binpkgs/Packages'), 'utf8'));
    expect(index.packages).toHaveLength(2);
  });

  it('expands @world with world_sets and prints --info from the root\'s config', async () => {
    await makePortageRoot(join(h.dir, 'binhost'), { makeConf: MAKE_CONF, profile: null, world: ['app-misc/greet'] });
    await writeFile(join(root, 'var/lib/portage/world_sets'), '@mine\n');
    await mkdir(join(root, 'etc/portage/sets'), { recursive: true });
    await writeFile(join(root, 'etc/portage/sets/mine'), 'app-misc/hello\n');
    const pretend = await runEmerge(root, ['--pretend', '--buildpkg', '@world']);
    expect(pretend.output.split('\n').filter((l) => l.startsWith('['))).toEqual([
      `[ebuild  N     ] app-misc/greet-1.0::gentoo to ${root} USE="loud" `,
      `[ebuild  N     ] app-misc/hello-1.0::gentoo to ${root}`,
    ]);
    const info = await runEmerge(root, ['--info']);
    expect(info.code).toBe(0);
    expect(info.output).toContain('CFLAGS="-O2 -pipe -march=x86-64-v3"\n');
    expect(info.output).toContain(`PKGDIR="${root}var/cache/binpkgs/"`);
  });

  it('reads a make.conf rewritten by the product parser the same way the product does', async () => {
    const original = [
      '# target make.conf',
      "COMMON_FLAGS='-O2 -pipe'",
      'CFLAGS="${COMMON_FLAGS} -march=native \\',
      '  -mtune=native"   # tuned',
      'export CXXFLAGS="$CFLAGS"',
      'USE="-loud"',
      '',
    ].join('\n');
    const rewritten = original.replace('-march=native', '-march=x86-64-v2').replace('-mtune=native', '-mtune=generic');
    const expected = makeConfValues(rewritten, 'make.conf');
    expect(expected.get('CXXFLAGS')).toBe('-O2 -pipe -march=x86-64-v2 -mtune=generic');
    await makePortageRoot(join(h.dir, 'binhost'), { makeConf: rewritten, profile: null });
    const info = await runEmerge(root, ['--info']);
    // the product reads values as words (runs of blanks inside a value are one space to it)
    const shown = (key: string) => new RegExp(`^${key}="(.*)"$`, 'm').exec(info.output)?.[1]?.split(/\s+/).join(' ');
    expect(shown('CFLAGS')).toBe(expected.get('CFLAGS'));
    expect(shown('CXXFLAGS')).toBe(expected.get('CXXFLAGS'));
    const built = await runEmerge(root, ['--buildpkg', 'app-misc/greet']);
    expect(built.output).toContain('gcc -O2 -pipe -march=x86-64-v2 -mtune=generic -o greet greet.c');
    expect(await readFile(join(root, 'var/db/pkg/app-misc/greet-1.0/USE'), 'utf8')).toBe('amd64 elibc_glibc kernel_linux userland_GNU\n');
  });

  it('uses repos.conf or PORTAGE_REPOSITORIES, and the test repository in place of a missing location', async () => {
    await mkdir(join(root, 'etc/portage/repos.conf'), { recursive: true });
    await writeFile(join(root, 'etc/portage/repos.conf/gentoo.conf'), '[gentoo]\nlocation = /var/db/repos/gentoo-not-here\n');
    const missing = await runEmerge(root, ['--pretend', '--buildpkg', 'app-misc/hello']);
    expect(missing.output).toContain("!!! Section 'gentoo' in repos.conf has location attribute set to nonexistent directory: '/var/db/repos/gentoo-not-here'");
    expect(missing.output).toContain(`[ebuild  N     ] app-misc/hello-1.0::gentoo to ${root}`);
    const other = join(h.dir, 'other-repo');
    await mkdir(join(other, 'profiles'), { recursive: true });
    await writeFile(join(other, 'profiles/repo_name'), 'other\n');
    await mkdir(join(other, 'app-misc/solo'), { recursive: true });
    await writeFile(join(other, 'app-misc/solo/solo-2.0.ebuild'), 'EAPI=8\nDESCRIPTION="solo"\nSLOT="0"\nKEYWORDS="amd64"\nLICENSE="MIT"\n');
    const env = { PORTAGE_REPOSITORIES: `[other]\nlocation = ${other}\n` };
    const run = await runEmerge(root, ['--buildpkg', 'app-misc/solo'], env);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(`>>> Completed (1 of 1) app-misc/solo-2.0::other to ${root}`);
    expect((await runEmerge(root, ['--buildpkg', 'app-misc/hello'], env)).code).toBe(1);
  });

  it('fails a broken package with the real transcript\'s failure shape and exit 1', async () => {
    const run = await runEmerge(root, ['--buildpkg', '--root-deps', 'app-misc/broken']);
    expect(run.code).toBe(1);
    const real = (await transcript('binhost-build-broken.txt', root)).join('\n').trimEnd().split('\n');
    const from = real.findIndex((l) => l.includes('ERROR: app-misc/broken-1.0::gentoo failed (compile phase):'));
    expect(run.output.trimEnd().split('\n').slice(-(real.length - from))).toEqual(real.slice(from));
    expect(run.output).toMatch(/error: .*implicit declaration of function/);
  });

  it('shows the failed package\'s build log under --quiet-build, and only that', async () => {
    const run = await runEmerge(root, ['--buildpkg', '--quiet-build', 'app-misc/hello', 'app-misc/broken']);
    expect(run.code).toBe(1);
    const log = await readFile(join(root, 'var/tmp/portage/app-misc/broken-1.0/temp/build.log'), 'utf8');
    expect(log).toContain('>>> Compiling source in');
    expect(log).toContain('ERROR: app-misc/broken-1.0::gentoo failed (compile phase):');
    expect(run.output).toContain(log);
    expect(run.output).not.toContain('gcc -O2 -pipe -march=x86-64-v3 -o hello hello.c');
    expect(run.output).toContain(`>>> Completed (1 of 2) app-misc/hello-1.0::gentoo to ${root}`);
  });

  it('fails a package named in BINHOST_FAKE_EMERGE_FAIL after building the ones before it', async () => {
    const run = await runEmerge(root, ['--buildpkg', 'app-misc/hello-user'], { BINHOST_FAKE_EMERGE_FAIL: 'app-misc/hello-user' });
    expect(run.code).toBe(1);
    expect(run.output).toContain(`>>> Completed (1 of 2) app-misc/hello-1.0::gentoo to ${root}`);
    expect(run.output).toContain(' ERROR: app-misc/hello-user-1.0::gentoo failed (compile phase):');
    expect(run.output).toContain(`>>> Failed to emerge app-misc/hello-user-1.0 for ${root}, Log file:`);
    const index = parsePackagesIndex(await readFile(join(root, 'var/cache/binpkgs/Packages'), 'utf8'));
    expect(index.packages.map((p) => indexValue(p, 'CPV'))).toEqual(['app-misc/hello-1.0']);
  });

  it('rejects an unknown option like emerge, and refuses to merge into this machine (ROOT=/)', async () => {
    const run = await runEmerge(root, ['--buildpkg', '--frobnicate', 'app-misc/hello']);
    expect([run.code, run.output.trim()]).toEqual([1, 'emerge: error: unrecognized arguments: --frobnicate']);
    const real = await runEmerge('/', ['--buildpkg', 'app-misc/hello'], { PORTAGE_CONFIGROOT: root, PKGDIR: join(root, 'var/cache/binpkgs') });
    expect(real.code).toBe(1);
    expect(real.output).toContain('!!! the stand-in emerge refuses ROOT=/');
  });

  it('refuses unknown atoms, a dangling make.profile and a broken make.conf with clear messages', async () => {
    const none = await runEmerge(root, ['--buildpkg', 'app-misc/nope']);
    expect(none.code).toBe(1);
    expect(none.output.trimEnd().split('\n').pop()).toBe(`emerge: there are no ebuilds to satisfy "app-misc/nope" for ${root}.`);
    const dangling = await makePortageRoot(join(h.dir, 'dangling'), { profile: '../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0' });
    const bad = await runEmerge(dangling, ['--buildpkg', 'app-misc/hello']);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('!!! Your current profile is invalid.');
    const syntax = await makePortageRoot(join(h.dir, 'syntax'), { makeConf: 'CFLAGS="-O2\n' });
    const err = await runEmerge(syntax, ['--buildpkg', 'app-misc/hello']);
    expect(err.code).toBe(1);
    expect(err.output).toContain(`${join(syntax, 'etc/portage/make.conf')}:1: unterminated double quote in CFLAGS`);
  });
});
