import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { silentLogger, type TargetState } from '@binhost/shared';
import { collectTargetState } from '../report/collect-state.js';
import { StateMonitor } from './state-monitor.js';

const gccOutput = readFileSync(fileURLToPath(new URL('../../../../test/fixtures/portage/gcc-march-native-v.txt', import.meta.url)), 'utf8');

describe('StateMonitor', () => {
  let base: string;
  let root: string;
  let monitor: StateMonitor;
  let offered: TargetState[];
  let collections = 0;

  const abs = (rel: string) => join(root, rel);
  /** Saves like vim/emacs/sed -i do: a temp file in the same directory, renamed over the original. */
  const editorSave = async (rel: string, content: string) => {
    await mkdir(dirname(abs(rel)), { recursive: true });
    const tmp = join(dirname(abs(rel)), `.${Date.now()}.tmp`);
    await writeFile(tmp, content);
    await rename(tmp, abs(rel));
  };
  const text = (s: TargetState, rel: string) => s.files.find((f) => f.path === rel)?.content.toString('utf8');
  /** Resolves with the first offered state (already offered or next) that satisfies `check`. */
  const offeredWhere = (check: (s: TargetState) => boolean, what: string) =>
    new Promise<TargetState>((resolve, reject) => {
      const hit = offered.find(check);
      if (hit) return resolve(hit);
      const timer = setTimeout(() => reject(new Error(`timed out waiting for an offered state where ${what}`)), 8000);
      const on = (s: TargetState) => {
        if (!check(s)) return;
        clearTimeout(timer);
        monitor.off('offered', on);
        resolve(s);
      };
      monitor.on('offered', on);
    });

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'binhost-watch-'));
    root = join(base, 'root');
    await mkdir(abs('etc/portage/package.use'), { recursive: true });
    await mkdir(abs('var/lib/portage'), { recursive: true });
    await writeFile(abs('etc/portage/make.conf'), 'CFLAGS="-O2"\n');
    await writeFile(abs('etc/portage/package.use/base'), 'app-misc/hello loud\n');
    await symlink('../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0', abs('etc/portage/make.profile'));
    await writeFile(abs('var/lib/portage/world'), 'app-misc/hello\n');
    await writeFile(abs('etc/unrelated.conf'), 'x\n');
    offered = [];
    collections = 0;
    monitor = new StateMonitor({
      root,
      debounceMs: 100,
      log: silentLogger(),
      collect: () => {
        collections++;
        return collectTargetState({ root, maxFileBytes: 1 << 20, log: silentLogger(), runCompiler: async () => ({ exitCode: 0, output: gccOutput }) });
      },
      offer: (s) => offered.push(s),
    });
    await monitor.start();
    expect(offered).toHaveLength(1);
  });
  afterEach(async () => {
    await monitor.stop();
    await rm(base, { recursive: true, force: true });
  });

  it("sees an editor's atomic save", async () => {
    await editorSave('etc/portage/make.conf', 'CFLAGS="-O3"\n');
    const s = await offeredWhere((s) => text(s, 'etc/portage/make.conf') === 'CFLAGS="-O3"\n', 'make.conf says -O3');
    expect(s.digest).not.toBe(offered[0]!.digest);
    expect(s.files.some((f) => f.path.endsWith('.tmp'))).toBe(false);
  });

  it('sees a new file in a package.* directory and a deletion', async () => {
    await writeFile(abs('etc/portage/package.use/new'), 'app-misc/greet -loud\n');
    await offeredWhere((s) => text(s, 'etc/portage/package.use/new') !== undefined, 'package.use/new exists');
    await unlink(abs('etc/portage/package.use/base'));
    await offeredWhere((s) => text(s, 'etc/portage/package.use/base') === undefined, 'package.use/base is gone');
  });

  it('sees make.profile re-pointed (eselect profile set) and world rewritten by rename (emerge)', async () => {
    await unlink(abs('etc/portage/make.profile'));
    await symlink('../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0/desktop', abs('etc/portage/make.profile'));
    await offeredWhere((s) => s.profile === 'default/linux/amd64/23.0/desktop', 'the profile is desktop');
    await writeFile(abs('var/lib/portage/world.12345'), 'app-editors/vim\napp-misc/hello\n');
    await rename(abs('var/lib/portage/world.12345'), abs('var/lib/portage/world'));
    const s = await offeredWhere((s) => text(s, 'var/lib/portage/world') === 'app-editors/vim\napp-misc/hello\n', 'world has vim');
    expect(s.files.some((f) => f.path.includes('world.12345'))).toBe(false);
  });

  it('sees a subdirectory deleted and recreated, and edits inside it afterwards', async () => {
    await rm(abs('etc/portage/package.use'), { recursive: true });
    await offeredWhere((s) => !s.files.some((f) => f.path.startsWith('etc/portage/package.use')), 'package.use is gone');
    await mkdir(abs('etc/portage/package.use'));
    await writeFile(abs('etc/portage/package.use/again'), 'a/b x\n');
    await offeredWhere((s) => text(s, 'etc/portage/package.use/again') === 'a/b x\n', 'package.use/again exists');
    await editorSave('etc/portage/package.use/again', 'a/b y\n');
    await offeredWhere((s) => text(s, 'etc/portage/package.use/again') === 'a/b y\n', 'package.use/again says y');
  });

  it('sees etc/portage deleted and recreated, and keeps watching it', async () => {
    await rm(abs('etc/portage'), { recursive: true });
    const empty = await offeredWhere((s) => !s.files.some((f) => f.path.startsWith('etc/')), 'etc/portage is gone');
    expect(empty.warnings).toContain('etc/portage: missing or not a directory; reporting an empty configuration');
    await mkdir(abs('etc/portage'));
    await writeFile(abs('etc/portage/make.conf'), 'CFLAGS="-Os"\n');
    await offeredWhere((s) => text(s, 'etc/portage/make.conf') === 'CFLAGS="-Os"\n', 'make.conf is back');
    await editorSave('etc/portage/make.conf', 'CFLAGS="-O1"\n');
    await offeredWhere((s) => text(s, 'etc/portage/make.conf') === 'CFLAGS="-O1"\n', 'make.conf edited after recreation');
  });

  it('reports during a writer that never pauses, after ten debounce periods at most', async () => {
    let n = 0;
    let reported: TargetState | undefined;
    const seen = offeredWhere((s) => /N=\d+/.test(text(s, 'etc/portage/make.conf') ?? ''), 'a report during the writes').then((s) => (reported = s));
    const started = Date.now();
    // The stimulus: a save every 20 ms (well inside the 100 ms debounce) for up to 4 s.
    while (!reported && Date.now() - started < 4000) {
      await editorSave('etc/portage/make.conf', `N=${++n}\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await seen;
    // Without the maximum wait nothing is reported until the writer stops at 4 s. (On a loaded
    // machine a timer may stall past the debounce and report earlier; that is fine too.)
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('turns a burst of edits into one report, and ignores changes that leave the digest alone', async () => {
    // Synchronous saves: the whole burst lands before any timer can run, however loaded the machine.
    for (let i = 0; i < 20; i++) {
      const tmp = abs(`etc/portage/.make.conf.${i}.tmp`);
      writeFileSync(tmp, `CFLAGS="-O${i % 4}"\nN=${i}\n`);
      renameSync(tmp, abs('etc/portage/make.conf'));
    }
    const burst = await offeredWhere((s) => text(s, 'etc/portage/make.conf')?.includes('N=19') ?? false, 'the last edit of the burst');
    // A touch, an unrelated file in /etc and an editor swap file change nothing that is reported.
    const unchanged = new Promise<string>((r) => monitor.once('unchanged', r));
    const now = new Date();
    await utimes(abs('etc/portage/make.conf'), now, now);
    await writeFile(abs('etc/unrelated.conf'), 'y\n');
    await writeFile(abs('etc/portage/.make.conf.swp'), 'swap');
    expect(await unchanged).toBe(burst.digest);
    await writeFile(abs('etc/portage/package.use/sentinel'), 's\n');
    await offeredWhere((s) => text(s, 'etc/portage/package.use/sentinel') !== undefined, 'the sentinel');
    expect(offered.map((s) => text(s, 'etc/portage/make.conf')?.match(/N=\d+/)?.[0] ?? 'initial')).toEqual(['initial', 'N=19', 'N=19']);
    expect(collections).toBeLessThanOrEqual(5);
  });
});
