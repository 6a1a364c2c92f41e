import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { lstat, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HostLayout, RootManager, RootExistsError, UnsafeArchiveEntryError, DigestMismatchError } from '@binhost/agent-host';
import { InvalidArgumentError, silentLogger } from '@binhost/shared';
import { tmpTree } from './helpers/tmp-tree.js';
import { buildTar, sha256Hex, syntheticStage3, type TarMember } from './helpers/tar-builder.js';

describe('RootManager.create', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let layout: HostLayout;
  let roots: RootManager;

  beforeEach(async () => {
    ({ dir, cleanup } = await tmpTree('binhost-roots-'));
    layout = new HostLayout(join(dir, 'state'));
    roots = new RootManager({ layout, log: silentLogger(), compiler: 'gcc', repository: '/nonexistent' });
  });
  afterEach(() => cleanup());

  async function stage3File(members: TarMember[], name = 'stage3.tar'): Promise<string> {
    const file = join(dir, name);
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
    const file = join(dir, name);
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
    await expect(lstat(join(dir, 'escaped'))).rejects.toThrow();
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
    const junk = join(dir, 'junk.tar');
    await writeFile(junk, 'not a tarball at all');
    await expect(roots.create('two', { file: junk })).rejects.toThrow(/not a tar archive/);
    await expect(roots.create('three', { url: 'http://example.invalid/stage3.tar.xz' })).rejects.toThrow(/must be https/);
    expect((await rootsDirEntries()).sort()).toEqual(['one', 'one.meta']);
  });
});
