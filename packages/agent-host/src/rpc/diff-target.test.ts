import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileChange, FileKind, silentLogger, stateDigest, type FileEntry, type TargetState } from '@binhost/shared';
import { TargetRegistry } from '../registry/target-registry.js';
import { TargetStore } from '../registry/target-store.js';
import { EventHub } from '../events/event-hub.js';
import { diffTarget } from './diff-target.js';

const file = (path: string, content: string | Buffer): FileEntry => ({ path, kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from(content), linkTarget: '' });
const link = (path: string, linkTarget: string): FileEntry => ({ path, kind: FileKind.FILE_KIND_SYMLINK, mode: 0o777, content: Buffer.alloc(0), linkTarget });

function state(files: FileEntry[], extra: Partial<TargetState> = {}): TargetState {
  return {
    digest: stateDigest(files),
    files: [{ path: 'etc/portage', kind: FileKind.FILE_KIND_DIRECTORY, mode: 0o755, content: Buffer.alloc(0), linkTarget: '' }, ...files],
    profile: 'default/linux/amd64/23.0',
    chost: 'x86_64-pc-linux-gnu',
    gccVersion: '12.2.0',
    kernelRelease: '6.1.0',
    nativeFlags: { known: true, march: 'znver3', mtune: 'znver3', featureFlags: ['-mavx2', '-mno-xop'], params: ['--param=l1-cache-size=48'], compiler: 'gcc', error: '' },
    cpuFlagsX86: ['avx', 'avx2'],
    collectedAt: new Date(),
    warnings: [],
    hostname: 'alpha',
    arch: 'amd64',
    repoRevisions: [],
    ...extra,
  };
}

describe('diffTarget', () => {
  let dir: string;
  let registry: TargetRegistry;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhost-diff-target-'));
    registry = new TargetRegistry(new TargetStore(dir), new EventHub(), silentLogger());
    await registry.load();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists file, world, flag, CPU flag and profile changes between the previous and the latest state', async () => {
    const a = state([
      file('etc/portage/make.conf', 'CFLAGS="-O2"\n'),
      file('etc/portage/package.use/gone', 'a/b x\n'),
      file('etc/portage/bin.dat', Buffer.from([0, 1, 2])),
      link('etc/portage/make.profile', '../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0'),
      file('var/lib/portage/world', 'app-misc/hello\napp-misc/greet\n'),
    ]);
    const b = state(
      [
        file('etc/portage/make.conf', 'CFLAGS="-O3"\n'),
        file('etc/portage/package.use/new', 'c/d y\n'),
        file('etc/portage/bin.dat', Buffer.from([0, 1, 2, 3])),
        link('etc/portage/make.profile', '../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0/desktop'),
        file('var/lib/portage/world', 'app-misc/hello\napp-editors/vim\n'),
        file('var/lib/portage/world_sets', '@mine\n'),
      ],
      {
        profile: 'default/linux/amd64/23.0/desktop',
        nativeFlags: { known: true, march: 'znver4', mtune: 'znver4', featureFlags: ['-mavx2', '-mxop'], params: ['--param=l1-cache-size=48'], compiler: 'gcc', error: '' },
        cpuFlagsX86: ['avx', 'avx512f'],
      },
    );
    await registry.acceptState('alpha', a);
    await registry.acceptState('alpha', b);
    const d = await diffTarget({ registry }, { name: 'alpha', fromDigest: '', toDigest: '' });
    expect([d.fromDigest, d.toDigest]).toEqual([a.digest, b.digest]);
    expect(d.files.map((f) => [f.path, f.change, f.unifiedDiff])).toEqual([
      ['etc/portage/bin.dat', FileChange.FILE_CHANGE_MODIFIED, 'binary file: 3 bytes ⇒ 4 bytes\n'],
      ['etc/portage/make.conf', FileChange.FILE_CHANGE_MODIFIED, '--- a/etc/portage/make.conf\n+++ b/etc/portage/make.conf\n@@ -1 +1 @@\n-CFLAGS="-O2"\n+CFLAGS="-O3"\n'],
      [
        'etc/portage/make.profile',
        FileChange.FILE_CHANGE_MODIFIED,
        'symlink → ../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0 ⇒ symlink → ../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0/desktop\n',
      ],
      ['etc/portage/package.use/gone', FileChange.FILE_CHANGE_REMOVED, '--- a/etc/portage/package.use/gone\n+++ b/etc/portage/package.use/gone\n@@ -1 +0,0 @@\n-a/b x\n'],
      ['etc/portage/package.use/new', FileChange.FILE_CHANGE_ADDED, '--- a/etc/portage/package.use/new\n+++ b/etc/portage/package.use/new\n@@ -0,0 +1 @@\n+c/d y\n'],
      ['var/lib/portage/world', FileChange.FILE_CHANGE_MODIFIED, expect.stringContaining('+app-editors/vim\n')],
      ['var/lib/portage/world_sets', FileChange.FILE_CHANGE_ADDED, expect.stringContaining('+@mine\n')],
    ]);
    expect(d).toMatchObject({
      worldAdded: ['@mine', 'app-editors/vim'],
      worldRemoved: ['app-misc/greet'],
      flagsAdded: ['-march=znver4', '-mtune=znver4', '-mxop'],
      flagsRemoved: ['-march=znver3', '-mno-xop', '-mtune=znver3'],
      cpuFlagsAdded: ['avx512f'],
      cpuFlagsRemoved: ['avx2'],
      profileBefore: 'default/linux/amd64/23.0',
      profileAfter: 'default/linux/amd64/23.0/desktop',
    });
    // Backwards, by digest prefix.
    const back = await diffTarget({ registry }, { name: 'alpha', fromDigest: b.digest.slice(7, 19), toDigest: a.digest });
    expect(back.worldAdded).toEqual(['app-misc/greet']);
    expect(back.files.find((f) => f.path === 'etc/portage/package.use/gone')?.change).toBe(FileChange.FILE_CHANGE_ADDED);
  });

  it('diffs the first state against nothing, and reports unknown flags as all removed', async () => {
    const a = state([file('etc/portage/make.conf', 'x\n')]);
    await registry.acceptState('alpha', a);
    const first = await diffTarget({ registry }, { name: 'alpha', fromDigest: '', toDigest: '' });
    expect(first.fromDigest).toBe('');
    expect(first.files.map((f) => f.change)).toEqual([FileChange.FILE_CHANGE_ADDED]);
    expect(first.flagsAdded).toHaveLength(5);
    const b = state([file('etc/portage/make.conf', 'y\n')], { nativeFlags: { known: false, march: '', mtune: '', featureFlags: [], params: [], compiler: 'gcc', error: 'compiler not found: gcc' } });
    await registry.acceptState('alpha', b);
    const d = await diffTarget({ registry }, { name: 'alpha', fromDigest: '', toDigest: '' });
    expect(d.flagsRemoved).toEqual(['--param=l1-cache-size=48', '-march=znver3', '-mavx2', '-mno-xop', '-mtune=znver3']);
    expect(d.flagsAdded).toEqual([]);
  });

  it('names what is wrong: unknown target, no state yet, unknown or malformed digest', async () => {
    await expect(diffTarget({ registry }, { name: 'nobody', fromDigest: '', toDigest: '' })).rejects.toThrow('no target named "nobody"');
    await registry.touch('alpha');
    await expect(diffTarget({ registry }, { name: 'alpha', fromDigest: '', toDigest: '' })).rejects.toThrow('target "alpha" has not reported a state yet');
    await registry.acceptState('alpha', state([file('etc/portage/make.conf', 'x\n')]));
    await expect(diffTarget({ registry }, { name: 'alpha', fromDigest: 'ffff0000', toDigest: '' })).rejects.toThrow('digest ffff0000 is not in the history of target "alpha"');
    await expect(diffTarget({ registry }, { name: 'alpha', fromDigest: '../x', toDigest: '' })).rejects.toThrow('"../x" is not a digest');
  });
});
