import { beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmod, lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HostLayout, RootManager, RootExistsError, UnsafeArchiveEntryError, DigestMismatchError } from '@binhost/agent-host';
import { InvalidArgumentError, silentLogger, SpawnCommandRunner, type CommandRunner, type CommandSpec } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import { buildTar, sha256Hex, syntheticStage3, type TarMember } from './helpers/tar-builder.js';

describe('RootManager.create', () => {
  const h = useHarness({ prefix: 'binhost-roots-', pki: false });
  let layout: HostLayout;
  let roots: RootManager;

  beforeEach(async () => {
    layout = new HostLayout(join(h.dir, 'state'));
    roots = new RootManager({ layout, log: silentLogger(), compiler: 'gcc', repository: '/nonexistent' });
  });

  async function stage3File(members: TarMember[], name = 'stage3.tar'): Promise<string> {
    const file = join(h.dir, name);
    await writeFile(file, buildTar(members));
    return file;
  }

  /** Nothing of a failed create is left under roots/. */
  async function rootsDirEntries(): Promise<string[]> {
    return readdir(layout.rootsDir()).catch(() => []);
  }

  it('extracts a stage3 with modes, numeric owners, links and disables its binhost', async () => {
    const file = await stage3File(syntheticStage3());
    const r = await roots.create('amd64', { file });
    const root = layout.rootDir('amd64');
    expect(r.rootPath).toBe(root);
    // 23 members, dev/null skipped
    expect(r.entriesExtracted).toBe(22);
    expect(r.warnings).toEqual(['dev/null: CharacterDevice not extracted']);
    expect(r.disabledBinhosts).toEqual(['etc/portage/binrepos.conf/gentoobinhost.conf']);
    expect(await readdir(join(root, 'etc/portage/binrepos.conf'))).toEqual(['.gentoobinhost.conf.disabled']);
    expect((await stat(join(root, 'usr/bin/passwd'))).mode & 0o7777).toBe(0o4711);
    expect((await stat(join(root, 'var/tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await stat(join(root, 'home/user'))).mode & 0o7777).toBe(0o700);
    if (process.getuid?.() === 0) {
      const st = await stat(join(root, 'home/user'));
      expect([st.uid, st.gid]).toEqual([1234, 2345]);
    }
    expect(await readlink(join(root, 'etc/mtab'))).toBe('/proc/self/mounts');
    expect(await readlink(join(root, 'usr/bin/awk'))).toBe('gawk');
    expect(await readlink(join(root, 'etc/os-release'))).toBe('../usr/lib/os-release');
    expect((await stat(join(root, 'usr/bin/gawk-5'))).ino).toBe((await stat(join(root, 'usr/bin/gawk'))).ino);
    expect(await readFile(join(root, 'etc/portage/make.conf'), 'utf8')).toContain('COMMON_FLAGS');
    expect(await roots.exists('amd64')).toBe(true);
    expect((await rootsDirEntries()).sort()).toEqual(['amd64', 'amd64.meta']);
  });

  it.each([
    ['gzip', 'stage3.tar.gz', (b: Buffer) => gzipSync(b)],
    ['xz', 'stage3.tar.xz', (b: Buffer) => spawnSync('xz', ['-c'], { input: b }).stdout],
    ['bzip2', 'stage3.tar.bz2', (b: Buffer) => spawnSync('bzip2', ['-c'], { input: b }).stdout],
    ['zstd', 'stage3.tar.zst', (b: Buffer) => spawnSync('zstd', ['-c', '-q'], { input: b }).stdout],
  ])('reads a %s-compressed stage3', async (_kind, name, compress) => {
    const file = join(h.dir, name);
    const data = compress(buildTar(syntheticStage3()));
    expect(data.length).toBeGreaterThan(0);
    await writeFile(file, data);
    const r = await roots.create('c', { file }, { sha256: sha256Hex(data) });
    expect(r.entriesExtracted).toBe(22);
    expect((await stat(join(r.rootPath, 'usr/bin/passwd'))).mode & 0o7777).toBe(0o4711);
  });

  const base: TarMember[] = [
    { path: './', type: 'dir' },
    { path: './etc/', type: 'dir' },
    { path: './etc/hostname', content: 'x\n' },
  ];
  it.each([
    ['a ".." entry', { path: './../escaped', content: 'x' }, /"\.\." segment/],
    ['a nested ".." entry', { path: './etc/../../escaped', content: 'x' }, /"\.\." segment/],
    ['an absolute entry', { path: '/etc/shadow', content: 'x' }, /absolute/],
    ['a symlink escaping the root', { path: './etc/evil', type: 'symlink', linkpath: '../../../../etc' }, /escapes the root/],
    ['a hard link escaping the root', { path: './etc/evil', type: 'hardlink', linkpath: '../outside' }, /"\.\." segment/],
    ['a hard link to an absolute path', { path: './etc/evil', type: 'hardlink', linkpath: '/etc/shadow' }, /absolute/],
  ] as Array<[string, TarMember, RegExp]>)('refuses %s and leaves nothing behind', async (_what, bad, message) => {
    // The bad entry comes after good ones, so some files were already written when it is met.
    const file = await stage3File([...base, bad, { path: './etc/after', content: 'y' }]);
    const err = await roots.create('bad', { file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveEntryError);
    expect((err as Error).message).toMatch(message);
    expect(await rootsDirEntries()).toEqual([]);
    expect(await roots.exists('bad')).toBe(false);
    await expect(lstat(join(h.dir, 'escaped'))).rejects.toThrow();
  });

  it('refuses a bad entry inside an xz stream the same way', async () => {
    const file = join(h.dir, 'evil.tar.xz');
    // Enough good data after the bad entry that xz is still writing when extraction stops.
    const filler = Array.from({ length: 200 }, (_, i) => ({ path: `./etc/f${i}`, content: 'z'.repeat(20_000 + i) }));
    await writeFile(file, spawnSync('xz', ['-c', '-0'], { input: buildTar([...base, { path: './../x', content: 'x' }, ...filler]) }).stdout);
    await expect(roots.create('bad', { file })).rejects.toBeInstanceOf(UnsafeArchiveEntryError);
    expect(await rootsDirEntries()).toEqual([]);
  });

  it('refuses writing through a symlink placed by an earlier entry', async () => {
    const file = await stage3File([
      ...base,
      { path: './etc/link', type: 'symlink', linkpath: 'sub' },
      { path: './etc/sub', type: 'symlink', linkpath: '/' },
      { path: './etc/link/owned', content: 'x' },
    ]);
    const err = await roots.create('bad', { file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveEntryError);
    expect(await rootsDirEntries()).toEqual([]);
  });

  it('refuses a corrupt xz stage3 with the decompressor\'s message and leaves nothing', async () => {
    const good = spawnSync('xz', ['-c'], { input: buildTar(syntheticStage3()) }).stdout;
    const file = join(h.dir, 'stage3.tar.xz');
    await writeFile(file, good.subarray(0, Math.floor(good.length / 2)));
    await expect(roots.create('cut', { file })).rejects.toThrow(/xz -dc .* exited with 1: .*(Unexpected end of input|unexpected end)/i);
    expect(await rootsDirEntries()).toEqual([]);
  });

  it("never changes the host's files through an absolute symlink that replaces a directory", async () => {
    const outside = join(h.dir, 'outside');
    await mkdir(outside, { mode: 0o700 });
    await chmod(outside, 0o700);
    const file = await stage3File([...base, { path: './x/', type: 'dir', mode: 0o777 }, { path: './x', type: 'symlink', linkpath: outside }]);
    const r = await roots.create('swap', { file });
    expect(await readlink(join(r.rootPath, 'x'))).toBe(outside);
    expect((await stat(outside)).mode & 0o7777).toBe(0o700);
  });

  it("refuses a stage3 whose etc links outside, before touching the host's binrepos.conf", async () => {
    const hostEtc = join(h.dir, 'host-etc');
    await mkdir(join(hostEtc, 'portage/binrepos.conf'), { recursive: true });
    await writeFile(join(hostEtc, 'portage/binrepos.conf/gentoobinhost.conf'), '[g]\n');
    const file = await stage3File([{ path: './', type: 'dir' }, { path: './etc', type: 'symlink', linkpath: hostEtc }]);
    const err = await roots.create('etclink', { file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveEntryError);
    expect((err as Error).message).toContain('etc/portage/binrepos.conf');
    expect(await readdir(join(hostEtc, 'portage/binrepos.conf'))).toEqual(['gentoobinhost.conf']);
    expect(await rootsDirEntries()).toEqual([]);
  });

  it('refuses a member below an absolute symlink', async () => {
    const file = await stage3File([...base, { path: './lib', type: 'symlink', linkpath: '/usr/lib' }, { path: './lib/x', content: 'x' }]);
    const err = await roots.create('bad', { file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveEntryError);
    expect((err as Error).message).toContain('lies below the absolute symlink lib -> /usr/lib');
    expect(await rootsDirEntries()).toEqual([]);
  });

  it('restores SCHILY.xattr pax records byte for byte with one setfattr call', async () => {
    // A file capability (cap_net_raw+ep) as GNU tar --xattrs stores it: binary, not UTF-8.
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    const seen: CommandSpec[] = [];
    const runner: CommandRunner = {
      async run(spec) {
        seen.push(spec);
        return { exitCode: 0, signal: null, tail: [], stderrTail: [], pid: 1 };
      },
    };
    roots = new RootManager({ layout, log: silentLogger(), compiler: 'gcc', repository: '/nonexistent', runner });
    const file = await stage3File([
      ...base,
      { path: './bin/', type: 'dir' },
      { path: './bin/ping', content: 'ping', mode: 0o755, xattrs: { 'security.capability': cap, 'user.note': Buffer.from('a b') } },
      { path: './bin/plain', content: 'x' },
      { path: `./usr/${'long-directory-name/'.repeat(6)}`, type: 'dir' },
      { path: `./usr/${'long-directory-name/'.repeat(6)}tool`, content: 't', xattrs: { 'user.pax': Buffer.from([0, 0xff]) } },
    ]);
    const r = await roots.create('caps', { file });
    expect(r.warnings).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.file).toBe('setfattr');
    expect(seen[0]!.args).toEqual(['-h', '--restore=-']);
    // Run in the temp dir, before the root is renamed into place.
    expect(seen[0]!.cwd).toMatch(/\/roots\/\.caps\.[0-9a-f]+\.tmp$/);
    expect(seen[0]!.input).toBe(
      `# file: bin/ping\nsecurity.capability=0x${cap.toString('hex')}\nuser.note=0x612062\n\n` +
        `# file: usr/${'long-directory-name/'.repeat(6)}tool\nuser.pax=0x00ff\n`,
    );
  });

  it('keeps the root and warns when setfattr is missing', async () => {
    const missing = new SpawnCommandRunner();
    const runner: CommandRunner = { run: (spec) => missing.run({ ...spec, file: spec.file === 'setfattr' ? '/nonexistent/setfattr' : spec.file }) };
    roots = new RootManager({ layout, log: silentLogger(), compiler: 'gcc', repository: '/nonexistent', runner });
    const file = await stage3File([...base, { path: './etc/x', content: 'x', xattrs: { 'user.a': Buffer.from('1') } }]);
    const r = await roots.create('nox', { file });
    expect(r.warnings).toEqual(['extended attributes of 1 entries not restored: setfattr (sys-apps/attr) is not installed']);
    expect(await roots.exists('nox')).toBe(true);
  });

  it('fetches an https stage3, verifies it, and removes the download', async () => {
    const data = buildTar(syntheticStage3());
    const asked: string[] = [];
    const fetchStub = (async (url: URL | string) => {
      asked.push(String(url));
      return String(url).endsWith('/missing.tar') ? new Response('gone', { status: 404 }) : new Response(data);
    }) as typeof fetch;
    roots = new RootManager({ layout, log: silentLogger(), compiler: 'gcc', repository: '/nonexistent', fetch: fetchStub });
    const r = await roots.create('web', { url: 'https://mirror.example/stage3.tar' }, { sha256: sha256Hex(data) });
    expect(r.entriesExtracted).toBe(22);
    await expect(roots.create('web2', { url: 'https://mirror.example/stage3.tar' }, { sha256: '0'.repeat(64) })).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(roots.create('web3', { url: 'https://mirror.example/missing.tar' })).rejects.toThrow(/HTTP 404/);
    expect(asked).toEqual(['https://mirror.example/stage3.tar', 'https://mirror.example/stage3.tar', 'https://mirror.example/missing.tar']);
    expect((await rootsDirEntries()).sort()).toEqual(['web', 'web.meta']);
  });

  it('checks the sha256 before extracting', async () => {
    const file = await stage3File(syntheticStage3());
    const err = await roots.create('x', { file }, { sha256: 'ab'.repeat(32) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect((err as Error).message).toContain(`expected ${'ab'.repeat(32)}, got ${sha256Hex(await readFile(file))}`);
    expect(await rootsDirEntries()).toEqual([]);
    await expect(roots.create('x', { file }, { sha256: 'nothex' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('refuses a second root of the same name, a non-tar file and a non-https URL', async () => {
    const file = await stage3File(syntheticStage3());
    await roots.create('one', { file });
    await expect(roots.create('one', { file })).rejects.toBeInstanceOf(RootExistsError);
    const junk = join(h.dir, 'junk.tar');
    await writeFile(junk, 'not a tarball at all');
    await expect(roots.create('two', { file: junk })).rejects.toThrow(/not a tar archive/);
    await expect(roots.create('three', { url: 'http://example.invalid/stage3.tar.xz' })).rejects.toThrow(/must be https/);
    expect((await rootsDirEntries()).sort()).toEqual(['one', 'one.meta']);
  });
});
