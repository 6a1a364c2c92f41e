import { beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callUnary, FileKind, type TargetState } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import type { StartedHost } from './helpers/start-host.js';
import type { StartedTarget } from './helpers/start-target.js';
import { clientsFor } from './helpers/clients.js';
import { waitFor } from './helpers/wait-for.js';
import { editorSave, makePortageTree } from './helpers/portage-tree.js';
import { binhostctl } from './helpers/admin-cli.js';

describe('target state over mTLS', () => {
  const h = useHarness();
  let host: StartedHost | undefined;
  let target: StartedTarget | undefined;
  let root: string;

  beforeEach(async () => {
    root = join(h.dir, 'alpha', 'root');
    await makePortageTree(root);
  });

  const start = async () => {
    host = await h.startHost();
    target = await h.startTarget({ name: 'alpha', address: host.address, extra: '[report]\ndebounce_ms = 100\n' });
  };
  /** Waits until the host holds a state for alpha that satisfies `check`, and returns it. */
  const hostState = (check: (s: TargetState) => boolean, what: string) =>
    waitFor(async () => {
      const s = await host!.daemon.registry.store.readState('alpha');
      return s && check(s) ? s : undefined;
    }, { what });
  const text = (s: TargetState, rel: string) => s.files.find((f) => f.path === rel)?.content.toString('utf8');

  it('an editor save under etc/portage reaches the host with a new digest and a correct diff (RPC and CLI)', async () => {
    await start();
    const first = await hostState((s) => s.digest === target!.daemon.monitor?.digest, 'the first state');
    expect(first.nativeFlags?.known).toBe(true);
    expect(first.profile).toBe('default/linux/amd64/23.0');
    expect(first.files.find((f) => f.path === 'etc/portage/make.profile')?.kind).toBe(FileKind.FILE_KIND_SYMLINK);

    await editorSave(root, 'etc/portage/make.conf', 'COMMON_FLAGS="-O3 -pipe -march=native"\nCFLAGS="${COMMON_FLAGS}"\n');
    await editorSave(root, 'var/lib/portage/world', 'app-misc/hello\napp-editors/vim\n');
    const second = await hostState((s) => s.digest !== first.digest && text(s, 'var/lib/portage/world')?.includes('vim') === true && text(s, 'etc/portage/make.conf')?.includes('-O3') === true, 'the edited state');
    expect(host!.daemon.registry.currentDigest('alpha')).toBe(second.digest);

    const admin = await clientsFor(h.pki, host!.address, 'admin', 'root');
    try {
      const diff = await callUnary(admin.admin.diffTarget.bind(admin.admin), { name: 'alpha', fromDigest: first.digest, toDigest: '' });
      expect(diff.fromDigest).toBe(first.digest);
      expect(diff.toDigest).toBe(second.digest);
      expect(diff.files.map((f) => [f.path, f.change])).toEqual([
        ['etc/portage/make.conf', 3],
        ['var/lib/portage/world', 3],
      ]);
      expect(diff.files[0]!.unifiedDiff).toBe(
        '--- a/etc/portage/make.conf\n+++ b/etc/portage/make.conf\n@@ -1,2 +1,2 @@\n-COMMON_FLAGS="-O2 -pipe -march=native"\n+COMMON_FLAGS="-O3 -pipe -march=native"\n CFLAGS="${COMMON_FLAGS}"\n',
      );
      expect(diff.worldAdded).toEqual(['app-editors/vim']);
      expect(diff.worldRemoved).toEqual(['app-misc/greet']);
      expect(diff.flagsAdded).toEqual([]);
      expect(diff.profileBefore).toBe(diff.profileAfter);
    } finally {
      admin.close();
    }

    const cli = await binhostctl(h.pki, h.dir, host!.address, ['--json', 'target', 'diff', 'alpha']);
    expect(cli.code).toBe(0);
    const json = JSON.parse(cli.stdout) as { fromDigest: string; toDigest: string; files: { path: string; change: string; unifiedDiff: string }[]; worldAdded: string[] };
    expect([json.fromDigest, json.toDigest]).toEqual([first.digest, second.digest]);
    expect(json.files.map((f) => `${f.change} ${f.path}`)).toEqual(['modified etc/portage/make.conf', 'modified var/lib/portage/world']);
    expect(json.worldAdded).toEqual(['app-editors/vim']);

    const textDiff = await binhostctl(h.pki, h.dir, host!.address, ['target', 'diff', 'alpha', first.digest.slice(7, 19)]);
    expect(textDiff.stdout).toContain(`alpha: ${first.digest.slice(7, 19)} → ${second.digest.slice(7, 19)}\n`);
    expect(textDiff.stdout).toContain('world: +app-editors/vim -app-misc/greet\n');
    expect(textDiff.stdout).toContain('  M etc/portage/make.conf\n');
    expect(textDiff.stdout).toContain('+COMMON_FLAGS="-O3 -pipe -march=native"\n');

    const show = await binhostctl(h.pki, h.dir, host!.address, ['target', 'show', 'alpha']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`digest         ${second.digest}\n`);
    expect(show.stdout).toContain(`-march=native  -march=${second.nativeFlags!.march} -mtune=${second.nativeFlags!.mtune}  (gcc)\n`);
    expect(show.stdout).toContain('profile        default/linux/amd64/23.0\n');
    expect(show.stdout).toContain('world          2 atoms, 0 sets\n');
    expect(show.stdout).toContain(`CPU_FLAGS_X86  ${second.cpuFlagsX86.join(' ')}\n`);
    const showJson = JSON.parse((await binhostctl(h.pki, h.dir, host!.address, ['target', 'show', 'alpha', '--json'])).stdout) as Record<string, unknown>;
    expect(showJson).toMatchObject({ version: 1, name: 'alpha', state: { digest: second.digest, profile: 'default/linux/amd64/23.0', world: { atoms: 2, sets: 0 } } });
    const history = showJson['history'] as { digest: string }[];
    expect(history[0]!.digest).toBe(first.digest);
    expect(history[history.length - 1]!.digest).toBe(second.digest);
    expect(typeof (showJson['state'] as Record<string, unknown>)['lastReport']).toBe('string');
  });

  it('refuses a diff against a digest that is not in the history, naming it', async () => {
    await start();
    await hostState(() => true, 'a state');
    const cli = await binhostctl(h.pki, h.dir, host!.address, ['target', 'diff', 'alpha', 'abcdef123456']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toBe('binhostctl: target diff: digest abcdef123456 is not in the history of target "alpha"\n');
  });

  it('keeps running through bad input and reports it: missing gcc, a FIFO, a huge file, etc/portage deleted and recreated', async () => {
    await editorSave(root, 'etc/portage/make.conf', 'CC="no-such-gcc-for-test"\n');
    expect(spawnSync('mkfifo', [join(root, 'etc/portage/package.use/fifo')]).status).toBe(0);
    await writeFile(join(root, 'etc/portage/package.env'), Buffer.alloc(2 * 1024 * 1024, 0x61));
    await start();
    const bad = await hostState((s) => s.nativeFlags?.known === false, 'unknown flags');
    expect(bad.nativeFlags?.error).toBe('compiler not found: no-such-gcc-for-test');
    expect(bad.warnings).toEqual(
      expect.arrayContaining([
        'etc/portage/package.use/fifo: skipped, not a regular file (FIFO)',
        'etc/portage/package.env: skipped, 2097152 bytes is over the limit of 1048576 (report.max_file_bytes)',
        '-march=native unknown: compiler not found: no-such-gcc-for-test',
      ]),
    );
    expect(bad.files.map((f) => f.path)).toContain('etc/portage/package.use/hello');

    await editorSave(root, 'etc/portage/make.conf', 'CFLAGS="-O2"\n');
    await hostState((s) => s.nativeFlags?.known === true, 'known flags after the fix');

    // the agent may be writing its keyring under etc/portage/gnupg at this moment: retry like rm -rf would
    await rm(join(root, 'etc/portage'), { recursive: true, maxRetries: 10, retryDelay: 50 });
    await hostState((s) => !s.files.some((f) => f.path.startsWith('etc/')), 'an empty etc/portage');
    await mkdir(join(root, 'etc/portage'));
    await editorSave(root, 'etc/portage/make.conf', 'CFLAGS="-Os"\n');
    const back = await hostState((s) => text(s, 'etc/portage/make.conf') === 'CFLAGS="-Os"\n', 'etc/portage recreated');
    expect(back.warnings).toEqual([]);
    expect(target!.daemon.connection?.connected).toBe(true);
  });
});
