import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assertReportedFacts, FileKind, silentLogger, stateDigest, type TargetState } from '@binhost/shared';
import { collectTargetState, profileOf } from './collect-state.js';
import type { CompilerRunner } from './run-compiler.js';

const gccOutput = readFileSync(fileURLToPath(new URL('../../../../test/fixtures/portage/gcc-march-native-v.txt', import.meta.url)), 'utf8');
const cpuinfo = fileURLToPath(new URL('../../../../test/fixtures/portage/proc-cpuinfo-flags.txt', import.meta.url));
const fakeGcc: CompilerRunner = async () => ({ exitCode: 0, output: gccOutput });

describe('collectTargetState', () => {
  let root: string;
  const put = async (rel: string, content: string | Buffer) => {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), content);
  };
  const collect = (extra: Partial<Parameters<typeof collectTargetState>[0]> = {}): Promise<TargetState> =>
    collectTargetState({ root, maxFileBytes: 1024, log: silentLogger(), runCompiler: fakeGcc, cpuinfoFile: cpuinfo, ...extra });
  const paths = (s: TargetState) => s.files.map((f) => f.path);

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'binhost-collect-'));
    await put('etc/portage/make.conf', 'CHOST="x86_64-pc-linux-gnu"\nCFLAGS="-O2 -march=native"\n');
    await put('etc/portage/package.use/zz-last', 'app-misc/hello -loud\n');
    await put('etc/portage/package.use/aa-first', Buffer.from([0x61, 0xff, 0xfe, 0x0a]));
    await put('etc/portage/env/nolto.conf', 'CFLAGS="${CFLAGS} -fno-lto"\n');
    await put('etc/portage/repos.conf/gentoo.conf', '[gentoo]\nlocation = /var/db/repos/gentoo\n');
    await mkdir(join(root, 'etc/portage/patches/app-misc/hello'), { recursive: true });
    await symlink('../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0', join(root, 'etc/portage/make.profile'));
    await put('var/lib/portage/world', 'app-misc/hello\napp-editors/vim\n');
    await put('var/lib/portage/world_sets', '@custom\n');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('snapshots the tree, world files and derived facts', async () => {
    const s = await collect();
    expect(paths(s)).toEqual([
      'etc/portage',
      'etc/portage/env',
      'etc/portage/env/nolto.conf',
      'etc/portage/make.conf',
      'etc/portage/make.profile',
      'etc/portage/package.use',
      'etc/portage/package.use/aa-first',
      'etc/portage/package.use/zz-last',
      'etc/portage/patches',
      'etc/portage/patches/app-misc',
      'etc/portage/patches/app-misc/hello',
      'etc/portage/repos.conf',
      'etc/portage/repos.conf/gentoo.conf',
      'var/lib/portage/world',
      'var/lib/portage/world_sets',
    ]);
    const profile = s.files.find((f) => f.path === 'etc/portage/make.profile')!;
    expect(profile.kind).toBe(FileKind.FILE_KIND_SYMLINK);
    expect(profile.linkTarget).toBe('../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0');
    expect(s.files.find((f) => f.path === 'etc/portage/package.use/aa-first')!.content).toEqual(Buffer.from([0x61, 0xff, 0xfe, 0x0a]));
    expect(s.digest).toBe(stateDigest(s.files));
    expect(s).toMatchObject({ profile: 'default/linux/amd64/23.0', chost: 'x86_64-pc-linux-gnu', gccVersion: '12.2.0', warnings: [] });
    expect(s.nativeFlags).toMatchObject({ known: true, march: 'znver3', compiler: 'x86_64-pc-linux-gnu-gcc' });
    expect(s.cpuFlagsX86).toContain('avx512_vp2intersect');
    expect(s.kernelRelease).not.toBe('');
    expect(s.arch).toBe(process.arch === 'x64' ? 'amd64' : expect.any(String));
    // what the host checks every report against
    expect(() => assertReportedFacts(s)).not.toThrow();
  });

  it('gives the same digest for the same config however it was made, and a new one for any byte', async () => {
    const a = await collect();
    await chmod(join(root, 'etc/portage/make.conf'), 0o600);
    await rm(join(root, 'etc/portage/package.use'), { recursive: true });
    await put('etc/portage/package.use/zz-last', 'app-misc/hello -loud\n');
    await put('etc/portage/package.use/aa-first', Buffer.from([0x61, 0xff, 0xfe, 0x0a]));
    expect((await collect()).digest).toBe(a.digest);
    await put('etc/portage/package.use/aa-first', Buffer.from([0x61, 0xff, 0xfe, 0x0b]));
    expect((await collect()).digest).not.toBe(a.digest);
  });

  it('leaves out editor and etc-update leftovers and the agent’s own files', async () => {
    const before = await collect();
    for (const rel of ['etc/portage/._cfg0000_make.conf', 'etc/portage/make.conf~', 'etc/portage/.make.conf.swp', 'etc/portage/binrepos.conf/binhost-agent.conf', 'etc/portage/gnupg/pubring.kbx']) {
      await put(rel, 'x');
    }
    const after = await collect();
    expect(after.digest).toBe(before.digest);
    expect(paths(after).filter((p) => /_cfg|~|swp|gnupg|binhost-agent/.test(p))).toEqual([]);
    expect(paths(after)).toContain('etc/portage/binrepos.conf');
  });

  it('skips a file over max_file_bytes with a warning naming it and the limit, and logs it', async () => {
    await put('etc/portage/package.env/huge', Buffer.alloc(2048, 0x61));
    const warned: unknown[] = [];
    const log = silentLogger();
    log.warn = ((obj: unknown) => void warned.push(obj)) as typeof log.warn;
    const s = await collect({ log });
    expect(paths(s)).not.toContain('etc/portage/package.env/huge');
    expect(paths(s)).toContain('etc/portage/package.env');
    const w = 'etc/portage/package.env/huge: skipped, 2048 bytes is over the limit of 1024 (report.max_file_bytes)';
    expect(s.warnings).toEqual([w]);
    expect(warned).toEqual([{ warning: w }]);
  });

  it('skips an unreadable file with a warning and keeps the rest', async () => {
    await put('etc/portage/package.mask/secret', 'x\n');
    let readFile: ((p: string) => Buffer) | undefined;
    if (process.getuid?.() === 0) {
      // root reads mode-000 files, so make the read fail the way it fails for a normal user
      readFile = (p) => {
        if (p.endsWith('/secret')) throw Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: 'EACCES' });
        return readFileSync(p);
      };
    } else {
      await chmod(join(root, 'etc/portage/package.mask/secret'), 0);
    }
    const s = await collect(readFile ? { readFile } : {});
    expect(paths(s)).not.toContain('etc/portage/package.mask/secret');
    expect(paths(s)).toContain('etc/portage/make.conf');
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0]).toMatch(/^etc\/portage\/package\.mask\/secret: skipped, unreadable \(EACCES/);
  });

  it('escapes control characters in its warnings, so the host accepts the report', async () => {
    expect(spawnSync('mkfifo', [join(root, 'etc/portage/fi\nfo\u001b[2J')]).status).toBe(0);
    const s = await collect();
    expect(s.warnings).toEqual(['etc/portage/fi\\u{a}fo\\u{1b}[2J: skipped, not a regular file (FIFO)']);
    expect(() => assertReportedFacts(s)).not.toThrow();
  });

  it('skips a FIFO, a socket and a device node with a warning each', async () => {
    expect(spawnSync('mkfifo', [join(root, 'etc/portage/fifo')]).status).toBe(0);
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(join(root, 'etc/portage/sock'), r));
    const mknod = process.getuid?.() === 0 ? spawnSync('mknod', [join(root, 'etc/portage/null'), 'c', '1', '3']).status : 1;
    try {
      const s = await collect();
      expect(paths(s).filter((p) => /fifo|sock|null/.test(p))).toEqual([]);
      expect(s.warnings).toEqual(
        expect.arrayContaining(['etc/portage/fifo: skipped, not a regular file (FIFO)', 'etc/portage/sock: skipped, not a regular file (socket)']),
      );
      if (mknod === 0) expect(s.warnings).toContain('etc/portage/null: skipped, not a regular file (character device)');
      expect(s.warnings).toHaveLength(mknod === 0 ? 3 : 2);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('records a symlink out of etc/portage as a link, never reading its target, with a warning', async () => {
    await put('outside/secret.use', 'must not be read\n');
    await symlink('../../../outside/secret.use', join(root, 'etc/portage/package.use/linked'));
    await symlink('/etc/shadow', join(root, 'etc/portage/package.use/abs'));
    await symlink('zz-last', join(root, 'etc/portage/package.use/inside'));
    const s = await collect();
    const byPath = new Map(s.files.map((f) => [f.path, f]));
    expect(byPath.get('etc/portage/package.use/linked')).toMatchObject({ kind: FileKind.FILE_KIND_SYMLINK, linkTarget: '../../../outside/secret.use', content: Buffer.alloc(0) });
    expect(byPath.get('etc/portage/package.use/inside')).toMatchObject({ kind: FileKind.FILE_KIND_SYMLINK, linkTarget: 'zz-last' });
    expect(s.files.some((f) => f.content.toString().includes('must not be read'))).toBe(false);
    expect(s.warnings.sort()).toEqual([
      'etc/portage/package.use/abs: symlink to /etc/shadow leaves etc/portage; recorded as a link, target not read',
      'etc/portage/package.use/linked: symlink to ../../../outside/secret.use leaves etc/portage; recorded as a link, target not read',
    ]);
  });

  it('skips a file whose name is not UTF-8, with a warning', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(Buffer.concat([Buffer.from(join(root, 'etc/portage/package.use/')), Buffer.from([0x66, 0xe9])]), 'x\n');
    const s = await collect();
    expect(s.warnings).toEqual(['etc/portage/package.use/f\ufffd: skipped, the name is not UTF-8 (hex 66e9)']);
    expect(paths(s)).toContain('etc/portage/package.use/zz-last');
  });

  it('reports a missing world as an empty world with a warning', async () => {
    await rm(join(root, 'var/lib/portage'), { recursive: true });
    const s = await collect();
    expect(paths(s).filter((p) => p.startsWith('var/'))).toEqual([]);
    expect(s.warnings).toEqual(['var/lib/portage/world: missing; reporting an empty world']);
  });

  it('reports an empty state with a warning when etc/portage is missing', async () => {
    await rm(join(root, 'etc/portage'), { recursive: true });
    const s = await collect();
    expect(paths(s)).toEqual(['var/lib/portage/world', 'var/lib/portage/world_sets']);
    expect(s.profile).toBe('');
    expect(s.warnings).toEqual(['etc/portage: missing or not a directory; reporting an empty configuration']);
  });

  it('reports unknown flags with a warning when gcc is missing, and takes CHOST from the compiler otherwise', async () => {
    await put('etc/portage/make.conf', 'CC="no-such-compiler-xyz"\n');
    const s = await collect({ runCompiler: undefined as unknown as CompilerRunner });
    expect(s.nativeFlags).toMatchObject({ known: false, error: 'compiler not found: no-such-compiler-xyz' });
    expect(s.warnings).toEqual(['-march=native unknown: compiler not found: no-such-compiler-xyz']);
    await put('etc/portage/make.conf', 'CFLAGS="-O2"\n');
    expect((await collect()).chost).toBe('x86_64-linux-gnu');
  });
});

describe('profileOf', () => {
  const link = (linkTarget: string) => [{ path: 'etc/portage/make.profile', kind: FileKind.FILE_KIND_SYMLINK, mode: 0o777, content: Buffer.alloc(0), linkTarget }];
  it('names the profile as eselect does', () => {
    expect(profileOf(link('/var/db/repos/gentoo/profiles/default/linux/amd64/23.0/desktop/'))).toBe('default/linux/amd64/23.0/desktop');
    expect(profileOf(link('../../usr/portage/profiles/default/linux/amd64/17.1'))).toBe('default/linux/amd64/17.1');
    expect(profileOf(link('/home/me/myprofile'))).toBe('/home/me/myprofile');
    expect(profileOf([])).toBe('');
  });
});
