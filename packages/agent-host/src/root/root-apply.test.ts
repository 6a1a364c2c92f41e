import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FailedPreconditionError, FileKind, MakeConfSyntaxError, ReportedFactError, SpawnCommandRunner, silentLogger, TargetState, type FileEntry } from '@binhost/shared';
import { HostLayout } from '../layout.js';
import { RootManager } from './root-manager.js';
import { ProfileMissingError } from './root-errors.js';
import { missingOnHost, parseCc1Line } from '@binhost/shared';
import { hostNative } from './native-flags.js';
import { STAGING_PREFIX } from './config-swap.js';
import { configSnapshot } from './root-apply.test-helpers.js';

const cc1 = readFileSync(fileURLToPath(new URL('../../../../test/fixtures/portage/gcc-march-native-cc1-mtune.txt', import.meta.url)), 'utf8');
const resolved = parseCc1Line(cc1)!;
const PROFILE = 'default/linux/amd64/23.0';

const file = (path: string, content: string, mode = 0o644): FileEntry => ({ path, kind: FileKind.FILE_KIND_REGULAR, mode, content: Buffer.from(content), linkTarget: '' });
const dir = (path: string): FileEntry => ({ path, kind: FileKind.FILE_KIND_DIRECTORY, mode: 0o755, content: Buffer.alloc(0), linkTarget: '' });
const link = (path: string, target: string): FileEntry => ({ path, kind: FileKind.FILE_KIND_SYMLINK, mode: 0o777, content: Buffer.alloc(0), linkTarget: target });

const MAKE_CONF = [
  'COMMON_FLAGS="-march=native -O2 -pipe"',
  'CFLAGS="${COMMON_FLAGS}"',
  'CXXFLAGS="${COMMON_FLAGS}"',
  'FEATURES="getbinpkg parallel-fetch"',
  'PKGDIR="/var/cache/binpkgs"',
  'MAKEOPTS="-j16"',
  'EMERGE_DEFAULT_OPTS="--getbinpkg --jobs 4"',
  'USE="wayland -X"',
  '',
].join('\n');

/** A target's state as the target agent reports it. */
function state(over: { files?: FileEntry[]; makeConf?: string; known?: boolean; features?: string[]; profile?: string; digest?: string } = {}): TargetState {
  return TargetState.fromPartial({
    digest: over.digest ?? 'sha256:aaaa',
    profile: over.profile ?? PROFILE,
    files: over.files ?? [
      dir('etc/portage'),
      file('etc/portage/make.conf', over.makeConf ?? MAKE_CONF),
      link('etc/portage/make.profile', `../../var/db/repos/gentoo/profiles/${PROFILE}`),
      file('etc/portage/binrepos.conf', '[binhost]\nsync-uri = https://binhost.example/\n'),
      dir('etc/portage/package.use'),
      file('etc/portage/package.use/media', 'media-video/mpv vaapi\n'),
      dir('etc/portage/env'),
      file('etc/portage/env/nolto.conf', 'CFLAGS="${CFLAGS} -mtune=native -fno-lto"\n'),
      link('etc/portage/package.keywords', 'package.accept_keywords'),
      link('etc/portage/escape', '../../etc/shadow'),
      file('var/lib/portage/world', 'app-editors/vim\nmedia-video/mpv\n'),
      file('var/lib/portage/world_sets', '@mine\n'),
    ],
    nativeFlags: {
      known: over.known ?? true,
      march: resolved.march,
      mtune: resolved.mtune,
      featureFlags: over.features ?? resolved.featureFlags,
      params: resolved.params,
      compiler: 'gcc',
      error: over.known === false ? 'gcc not found' : '',
    },
    cpuFlagsX86: ['aes', 'avx', 'avx2', 'sse4_2'],
  });
}

describe('RootManager.apply', () => {
  let tmp: string;
  let layout: HostLayout;
  let repo: string;
  let root: string;
  const manager = (applyHook?: (step: string) => void) =>
    new RootManager({ layout, log: silentLogger(), compiler: 'gcc', repository: repo, ...(applyHook ? { applyHook } : {}) });

  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'binhost-apply-'));
    layout = new HostLayout(join(tmp, 'state'));
    repo = join(tmp, 'repo');
    await mkdir(join(repo, 'profiles', PROFILE), { recursive: true });
    root = layout.rootDir('r1');
    // What a fresh root from a stage3 has.
    await mkdir(join(root, 'etc/portage'), { recursive: true });
    await mkdir(join(root, 'var/lib/portage'), { recursive: true });
  });
  afterEach(() => rm(tmp, { recursive: true, force: true }));

  it("applies a target's config: scrubbed, flags resolved, profile relinked, world written", async () => {
    const roots = manager();
    const applied = await roots.apply('r1', state());
    const makeConf = await readFile(join(root, 'etc/portage/make.conf'), 'utf8');
    expect(makeConf).toContain('# binhost: was COMMON_FLAGS="-march=native -O2 -pipe"\n');
    expect(makeConf).toContain(`COMMON_FLAGS="-march=znver3 -mmmx`);
    expect(makeConf).toContain('--param=l2-cache-size=1024 -mtune=znver3 -O2 -pipe"');
    expect(makeConf).not.toMatch(/^[^#].*native/m);
    expect(makeConf).toContain('\nFEATURES="parallel-fetch"\n');
    expect(makeConf).not.toMatch(/^(PKGDIR|MAKEOPTS|EMERGE_DEFAULT_OPTS)=/m);
    expect(makeConf).toContain('USE="wayland -X"');
    expect(applied.makeConf).toBe(makeConf);
    expect(await readFile(join(root, 'etc/portage/env/nolto.conf'), 'utf8')).toContain('CFLAGS="${CFLAGS} -mtune=znver3 -fno-lto"');
    await expect(lstat(join(root, 'etc/portage/binrepos.conf'))).rejects.toThrow();
    expect(await readlink(join(root, 'etc/portage/make.profile'))).toBe(join(repo, 'profiles', PROFILE));
    expect(await readlink(join(root, 'etc/portage/package.keywords'))).toBe('package.accept_keywords');
    await expect(lstat(join(root, 'etc/portage/escape'))).rejects.toThrow();
    expect(await readFile(join(root, 'etc/portage/package.use/00cpu-flags'), 'utf8')).toContain('*/* CPU_FLAGS_X86: aes avx avx2 sse4_2\n');
    expect(await readFile(join(root, 'etc/portage/package.use/media'), 'utf8')).toBe('media-video/mpv vaapi\n');
    expect(await readFile(join(root, 'var/lib/portage/world'), 'utf8')).toBe('app-editors/vim\nmedia-video/mpv\n');
    expect(await readFile(join(root, 'var/lib/portage/world_sets'), 'utf8')).toBe('@mine\n');
    expect(applied.rewrites.map((r) => `${r.file}:${r.key}`)).toEqual([
      'etc/portage/binrepos.conf:',
      'etc/portage/make.conf:COMMON_FLAGS',
      'etc/portage/make.conf:FEATURES',
      'etc/portage/make.conf:PKGDIR',
      'etc/portage/make.conf:MAKEOPTS',
      'etc/portage/make.conf:EMERGE_DEFAULT_OPTS',
      'etc/portage/env/nolto.conf:CFLAGS',
      'etc/portage/package.use/00cpu-flags:CPU_FLAGS_X86',
    ]);
    expect(applied.warnings).toContainEqual(expect.stringMatching(/etc\/portage\/escape: symlink .* leaves etc\/portage/));
    // The SIGILL warning appears exactly when this machine lacks an extension the fixture CPU has.
    const host = await hostNative(new SpawnCommandRunner(), 'gcc');
    const missing = host ? missingOnHost(resolved, host) : [];
    expect(applied.warnings.some((w) => w.includes('SIGILL'))).toBe(missing.length > 0);
    expect(await roots.readApplied('r1')).toEqual(applied);
    expect((await readdir(root)).filter((n) => n.startsWith(STAGING_PREFIX))).toEqual([]);
  });

  it('applies the same config on the same machine facts once (target add, then the build it starts)', async () => {
    const steps: string[] = [];
    const roots = manager((step) => steps.push(step));
    const first = await roots.apply('r1', state());
    const swaps = steps.length;
    expect(swaps).toBeGreaterThan(0);
    expect(await roots.apply('r1', state())).toEqual(first);
    expect(steps).toHaveLength(swaps);
    // the same files on a CPU with other flags: applied again
    await roots.apply('r1', state({ features: ['-mavx2'] }));
    expect(steps.length).toBeGreaterThan(swaps);
  });

  it('drops flags the host gcc rejects with a warning naming them', async () => {
    const applied = await manager().apply('r1', state({ features: [...resolved.featureFlags, '-mfoo-bar'] }));
    expect(applied.warnings).toContainEqual(expect.stringContaining('rejects -mfoo-bar'));
    expect(await readFile(join(root, 'etc/portage/make.conf'), 'utf8')).not.toContain('-mfoo-bar');
  });

  it("keeps the target's own -march choices and warns, naming file and variable, about one the host gcc rejects", async () => {
    const files = [file('etc/portage/make.conf', 'COMMON_FLAGS="-O2 -march=x86-64-v2"\nCFLAGS="${COMMON_FLAGS}"\nCXXFLAGS="-O2 -march=no-such-cpu"\n')];
    const applied = await manager().apply('r1', state({ files }));
    expect(applied.warnings.filter((w) => w.includes('rejects'))).toEqual([
      "etc/portage/make.conf: CXXFLAGS says -march=no-such-cpu, which the host's compiler gcc rejects: builds for this target will fail until it knows it",
    ]);
    expect(await readFile(join(root, 'etc/portage/make.conf'), 'utf8')).toContain('CXXFLAGS="-O2 -march=no-such-cpu"');
  });

  it('applies a config with an explicit -march when the host compiler cannot run, saying it could not check', async () => {
    const files = [file('etc/portage/make.conf', 'CFLAGS="-O2 -march=x86-64-v2"\n')];
    const noGcc = new RootManager({ layout, log: silentLogger(), compiler: '/nonexistent/gcc', repository: repo });
    const applied = await noGcc.apply('r1', state({ files }));
    expect(applied.warnings).toContainEqual(expect.stringMatching(/^could not check -march=x86-64-v2 against the host's compiler: .*build\.compiler/));
    expect(await readFile(join(root, 'etc/portage/make.conf'), 'utf8')).toContain('CFLAGS="-O2 -march=x86-64-v2"');
  });

  it('rewrites every file of a make.conf directory', async () => {
    const files = [
      dir('etc/portage/make.conf'),
      file('etc/portage/make.conf/10-flags', 'COMMON_FLAGS="-march=native -O2"\n'),
      file('etc/portage/make.conf/20-paths', 'CFLAGS="${COMMON_FLAGS}"\nDISTDIR="/mnt/distfiles"\n'),
    ];
    const applied = await manager().apply('r1', state({ files }));
    expect(await readFile(join(root, 'etc/portage/make.conf/10-flags'), 'utf8')).toContain('COMMON_FLAGS="-march=znver3 ');
    expect(await readFile(join(root, 'etc/portage/make.conf/20-paths'), 'utf8')).toBe(
      'CFLAGS="${COMMON_FLAGS}"\n# binhost: removed DISTDIR="/mnt/distfiles"\n',
    );
    expect(applied.makeConf).toMatch(/^# ==> etc\/portage\/make\.conf\/10-flags\n.*\n# ==> etc\/portage\/make\.conf\/20-paths\n/s);
  });

  it('rewrites the file a make.conf symlink names', async () => {
    const files = [link('etc/portage/make.conf', 'make.conf.amd64'), file('etc/portage/make.conf.amd64', 'CFLAGS="-march=native"\n')];
    const applied = await manager().apply('r1', state({ files }));
    const st = await lstat(join(root, 'etc/portage/make.conf'));
    expect(st.isFile()).toBe(true);
    expect(await readFile(join(root, 'etc/portage/make.conf'), 'utf8')).toContain('CFLAGS="-march=znver3 ');
    expect(applied.warnings).toContain('etc/portage/make.conf: a symlink to make.conf.amd64, copied as a file');
  });

  it("drops a -march the host's older gcc does not know, keeping the feature flags", async () => {
    const s = state({ features: ['-mavx2', '-mavx10.1'] });
    s.nativeFlags!.march = 'znver5';
    s.nativeFlags!.mtune = 'znver5';
    const applied = await manager().apply('r1', s);
    expect(applied.warnings).toContainEqual(expect.stringContaining('rejects -march=znver5 -mavx10.1 -mtune=znver5: dropped'));
    const makeConf = await readFile(join(root, 'etc/portage/make.conf'), 'utf8');
    expect(makeConf).toContain('\nCOMMON_FLAGS="-mavx2 --param=l1-cache-size=48 --param=l1-cache-line-size=64 --param=l2-cache-size=1024 -O2 -pipe"\n');
  });

  it('keeps CPU_FLAGS_X86 the target set itself', async () => {
    await manager().apply('r1', state({ makeConf: 'CFLAGS="-O2"\nCPU_FLAGS_X86="mmx sse"\n' }));
    await expect(lstat(join(root, 'etc/portage/package.use/00cpu-flags'))).rejects.toThrow();
  });

  describe('refusals leave the previous config whole', () => {
    let roots: RootManager;
    let before: Record<string, string>;
    beforeEach(async () => {
      roots = manager();
      await roots.apply('r1', state());
      before = await configSnapshot(root);
      expect(Object.keys(before)).toContain('etc/portage/make.conf');
    });
    const refuse = async (s: TargetState, type: new (...a: never[]) => Error, message: RegExp) => {
      const err = await roots.apply('r1', s).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(type);
      expect((err as Error).message).toMatch(message);
      expect(await configSnapshot(root)).toEqual(before);
      expect((await roots.readApplied('r1'))?.digest).toBe('sha256:aaaa');
      expect((await readdir(root)).filter((n) => n.startsWith(STAGING_PREFIX))).toEqual([]);
    };

    it('refuses a state whose flags are unknown when its config uses -march=native', () =>
      refuse(state({ known: false, digest: 'sha256:bbbb' }), FailedPreconditionError, /resolved flags are unknown \(gcc not found\)/));

    it('refuses an unparseable make.conf naming file and line', () =>
      refuse(state({ makeConf: 'CFLAGS="-O2"\nUSE="a b\n', digest: 'sha256:bbbb' }), MakeConfSyntaxError, /^etc\/portage\/make\.conf:2: unterminated double quote/));

    it("refuses a profile missing from the host's repository", () =>
      refuse(state({ profile: 'default/linux/riscv/23.0', digest: 'sha256:bbbb' }), ProfileMissingError, /default\/linux\/riscv\/23\.0/));

    it('refuses a stored state whose reported facts break their grammar, before any word reaches gcc', async () => {
      const calls: string[][] = [];
      const spawn = new SpawnCommandRunner();
      roots = new RootManager({ layout, log: silentLogger(), compiler: 'gcc', repository: repo, runner: { run: (spec) => (calls.push([spec.file, ...spec.args]), spawn.run(spec)) } });
      await refuse(state({ features: ['-mavx2', '-wrapper', '/tmp/x'], digest: 'sha256:bbbb' }), ReportedFactError, /native_flags\.feature_flags\[1\] "-wrapper"/);
      expect(calls).toEqual([]);
    });

    it.each(['move-aside:portage', 'move-in:portage', 'move-aside:world', 'move-in:world', 'move-in:world_sets', 'record'])(
      'rolls back a failure injected at %s',
      async (step) => {
        roots = manager((s) => {
          if (s === step) throw new Error(`injected at ${s}`);
        });
        const changed = state({ digest: 'sha256:cccc', makeConf: 'CFLAGS="-O3"\n' });
        await refuse(changed, Error, new RegExp(`injected at ${step}`));
      },
    );
  });

  it("refuses to write through a root's absolute symlink to the host's filesystem", async () => {
    const hostEtc = join(tmp, 'host-etc');
    await mkdir(join(hostEtc, 'portage'), { recursive: true });
    await writeFile(join(hostEtc, 'portage/make.conf'), 'HOST\n');
    await rm(join(root, 'etc'), { recursive: true });
    await symlink(hostEtc, join(root, 'etc'));
    await expect(manager().apply('r1', state())).rejects.toThrow(/etc resolves outside the root/);
    expect(await readFile(join(hostEtc, 'portage/make.conf'), 'utf8')).toBe('HOST\n');
    expect(await readdir(hostEtc)).toEqual(['portage']);
  });

  it('applies a state with unknown flags when nothing asks for -march=native', async () => {
    const files = [file('etc/portage/make.conf', 'CFLAGS="-O2 -march=x86-64-v2"\n'), link('etc/portage/make.profile', 'x')];
    const applied = await manager().apply('r1', state({ known: false, files }));
    expect(applied.warnings.join('\n')).not.toContain('SIGILL');
    expect(await readFile(join(root, 'etc/portage/make.conf'), 'utf8')).toBe('CFLAGS="-O2 -march=x86-64-v2"\n');
    // The target reported no world_sets: the root has none either.
    await expect(lstat(join(root, 'var/lib/portage/world_sets'))).rejects.toThrow();
  });

  it('restores the config of an apply cut off by a crash', async () => {
    const roots = manager();
    await roots.apply('r1', state());
    const before = await configSnapshot(root);
    // A crash between "move the live config aside" and "move the new one in".
    const staging = join(root, `${STAGING_PREFIX}crash`);
    await mkdir(staging);
    await rename(join(root, 'etc/portage'), join(staging, 'old-portage'));
    await roots.apply('r1', state({ profile: 'missing/profile' })).catch(() => undefined);
    expect(await configSnapshot(root)).toEqual(before);
    await expect(lstat(staging)).rejects.toThrow();
  });

  it('runs applies to one root one at a time, the last one winning', async () => {
    const roots = manager();
    const results = await Promise.all([
      roots.apply('r1', state({ digest: 'sha256:1111', makeConf: 'CFLAGS="-O1"\n' })),
      roots.apply('r1', state({ digest: 'sha256:2222', makeConf: 'CFLAGS="-O2"\n' })),
    ]);
    expect(results.map((r) => r.digest)).toEqual(['sha256:1111', 'sha256:2222']);
    expect(await readFile(join(root, 'etc/portage/make.conf'), 'utf8')).toBe('CFLAGS="-O2"\n');
    expect((await roots.readApplied('r1'))?.digest).toBe('sha256:2222');
  });
});
