import { describe, expect, it } from 'vitest';
import { FileKind, type FileEntry } from '../gen/binhost/agent/v1/types.js';
import { isExcludedPath, stateDigest, stateDigestAsync } from './digest.js';

const file = (path: string, content: string | Buffer, mode = 0o644): FileEntry => ({ path, kind: FileKind.FILE_KIND_REGULAR, mode, content: Buffer.from(content), linkTarget: '' });
const link = (path: string, linkTarget: string): FileEntry => ({ path, kind: FileKind.FILE_KIND_SYMLINK, mode: 0o777, content: Buffer.alloc(0), linkTarget });
const dir = (path: string): FileEntry => ({ path, kind: FileKind.FILE_KIND_DIRECTORY, mode: 0o755, content: Buffer.alloc(0), linkTarget: '' });

describe('stateDigest', () => {
  const tree = [file('etc/portage/make.conf', 'CFLAGS="-O2"\n'), link('etc/portage/make.profile', '../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0'), file('var/lib/portage/world', 'app-misc/hello\n')];

  it('is pinned: the same config gives this digest on any machine', () => {
    expect(stateDigest(tree)).toBe(stateDigest([...tree]));
    expect(stateDigest([])).toMatch(/^sha256:[0-9a-f]{64}$/);
    // A change to the encoding changes every stored digest; it must be deliberate.
    expect(stateDigest(tree)).toBe('sha256:' + GOLDEN);
  });

  it('ignores entry order, permission bits and directories', () => {
    const shuffled = [tree[2]!, tree[0]!, tree[1]!];
    expect(stateDigest(shuffled)).toBe(stateDigest(tree));
    expect(stateDigest([file('etc/portage/make.conf', 'CFLAGS="-O2"\n', 0o600), tree[1]!, tree[2]!])).toBe(stateDigest(tree));
    expect(stateDigest([...tree, dir('etc/portage/package.use')])).toBe(stateDigest(tree));
  });

  it('changes with any byte of content or path, and keeps non-UTF-8 bytes exactly', () => {
    const base = stateDigest(tree);
    expect(stateDigest([file('etc/portage/make.conf', 'CFLAGS="-O2" \n'), tree[1]!, tree[2]!])).not.toBe(base);
    expect(stateDigest([file('etc/portage/make.conf2', 'CFLAGS="-O2"\n'), tree[1]!, tree[2]!])).not.toBe(base);
    const latin1a = stateDigest([file('etc/portage/package.use/x', Buffer.from([0xe9, 0x0a]))]);
    const latin1b = stateDigest([file('etc/portage/package.use/x', Buffer.from([0xe8, 0x0a]))]);
    expect(latin1a).not.toBe(latin1b);
    // Both bytes would decode to U+FFFD: proof that nothing goes through a string.
    expect(Buffer.from([0xe9]).toString('utf8')).toBe(Buffer.from([0xe8]).toString('utf8'));
  });

  it('tells a symlink from a file with the same text, and cannot be fooled by moving bytes between path and content', () => {
    expect(stateDigest([link('etc/portage/a', 'b')])).not.toBe(stateDigest([file('etc/portage/a', 'b')]));
    expect(stateDigest([file('etc/portage/ab', 'c')])).not.toBe(stateDigest([file('etc/portage/a', 'bc')]));
    expect(stateDigest([file('etc/portage/a', ''), file('etc/portage/b', 'x')])).not.toBe(stateDigest([file('etc/portage/a', 'x'), file('etc/portage/b', '')]));
  });
});

describe('stateDigestAsync', () => {
  it('gives the same digest as stateDigest, whatever the slice size', async () => {
    const tree = [
      file('etc/portage/make.conf', 'CFLAGS="-O2"\n'),
      link('etc/portage/make.profile', '../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0'),
      file('var/lib/portage/world', 'app-misc/hello\n'),
    ];
    expect(await stateDigestAsync(tree)).toBe('sha256:' + GOLDEN);
    const big = [...tree, file('etc/portage/patches/big.patch', Buffer.alloc(3 * 1024 * 1024 + 17, 0x61)), file('etc/portage/package.use/e', '')];
    for (const slice of [1, 7, 4096, 1024 * 1024]) {
      expect(await stateDigestAsync(slice === 1 ? tree : big, slice)).toBe(stateDigest(slice === 1 ? tree : big));
    }
  });

  it('lets the event loop through between slices of a large report', async () => {
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const digest = await stateDigestAsync([file('etc/portage/patches/big.patch', Buffer.alloc(8 * 1024 * 1024, 0x62))], 1024 * 1024);
    running = false;
    expect(digest).toMatch(/^sha256:/);
    // 8 slices of 1 MiB: other callbacks ran between them
    expect(ticks).toBeGreaterThanOrEqual(7);
  });
});

describe('isExcludedPath', () => {
  it('excludes what the agent writes and editor and etc-update leftovers', () => {
    for (const p of [
      'etc/portage/binrepos.conf/binhost-agent.conf',
      'etc/portage/gnupg',
      'etc/portage/gnupg/pubring.kbx',
      'etc/portage/._cfg0000_make.conf',
      'etc/portage/package.use/._cfg0012_hello',
      'etc/portage/._mrg0001_make.conf',
      'etc/portage/make.conf~',
      'etc/portage/.make.conf.swp',
      'etc/portage/package.use/.hello.swo',
      'etc/portage/.#make.conf',
      'etc/portage/#make.conf#',
    ]) {
      expect(isExcludedPath(p), p).toBe(true);
    }
  });

  it('keeps everything Portage reads', () => {
    for (const p of [
      'etc/portage/make.conf',
      'etc/portage/make.profile',
      'etc/portage/binrepos.conf/gentoo.conf',
      'etc/portage/binrepos.conf',
      'etc/portage/gnupg-notes',
      'etc/portage/package.use/._cfg_not_four_digits',
      'etc/portage/env/swap.conf',
      'etc/portage/patches/app-misc/hello/fix.patch',
      'var/lib/portage/world',
      'var/lib/portage/world_sets',
    ]) {
      expect(isExcludedPath(p), p).toBe(false);
    }
  });
});

/** Computed independently (Python hashlib over the encoding documented in digest.ts). */
const GOLDEN = '0a84cbfb66a798099781079de21b118ad24f382f457397e5dc48d282b223b4a5';
