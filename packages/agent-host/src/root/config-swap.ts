import { lstat, mkdir, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertInsideRoot } from './root-paths.js';

/** Name prefix of apply staging directories inside a root. */
export const STAGING_PREFIX = '.binhost-apply-';
/** Written into the staging directory once the new config is recorded: from then on it stays. */
const COMMITTED = 'committed';

/** The pieces one swap moves, root-relative paths to staging-relative names. */
const SWAP_ITEMS = [
  { live: 'etc/portage', staged: 'portage' },
  { live: 'var/lib/portage/world', staged: 'world' },
  { live: 'var/lib/portage/world_sets', staged: 'world_sets' },
] as const;

/** Test hook: called before each step of a swap, may throw to inject a failure. */
export type StepHook = (step: string) => void | Promise<void>;

const exists = (p: string): Promise<boolean> => lstat(p).then(() => true, () => false);

/**
 * Puts a staged config in place of the live one. Each piece is moved aside (`old-*` in the
 * staging dir) and the new one renamed in, so every step is a rename on one filesystem;
 * `record` (writing applied.json) runs last. A failure at any step undoes the steps done, in
 * reverse, and the previous config is whole again. A staged piece that is absent means "the
 * target has none" (world_sets): the live one is moved aside too.
 */
export async function swapConfig(root: string, staging: string, record: () => Promise<void>, hook?: StepHook): Promise<void> {
  for (const item of SWAP_ITEMS) await assertInsideRoot(root, item.live);
  const undo: Array<() => Promise<void>> = [];
  try {
    for (const item of SWAP_ITEMS) {
      const live = join(root, item.live);
      const next = join(staging, item.staged);
      const old = join(staging, `old-${item.staged}`);
      await hook?.(`move-aside:${item.staged}`);
      await mkdir(join(live, '..'), { recursive: true });
      if (await exists(live)) {
        await rename(live, old);
        undo.push(() => rename(old, live));
      }
      if (await exists(next)) {
        await hook?.(`move-in:${item.staged}`);
        await rename(next, live);
        undo.push(() => rename(live, next));
      }
    }
    await hook?.('record');
    await record();
    await writeFile(join(staging, COMMITTED), '');
  } catch (err) {
    for (const step of undo.reverse()) await step();
    throw err;
  }
  await hook?.('cleanup');
  await rm(staging, { recursive: true, force: true });
}

/**
 * Finishes or undoes swaps cut off by a crash: a staging dir marked committed is only
 * removed; otherwise every `old-*` piece is put back (the half-applied new one set aside first).
 * Run before each apply.
 */
export async function recoverInterruptedSwaps(root: string): Promise<string[]> {
  const recovered: string[] = [];
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(STAGING_PREFIX))) {
    const staging = join(root, name);
    if (!(await exists(join(staging, COMMITTED)))) {
      for (const item of SWAP_ITEMS) {
        const old = join(staging, `old-${item.staged}`);
        if (!(await exists(old))) continue;
        const live = join(root, item.live);
        await assertInsideRoot(root, item.live);
        if (await exists(live)) {
          if (item.staged === 'portage') await rm(live, { recursive: true, force: true });
          else await unlink(live);
        }
        await rename(old, live);
        recovered.push(item.live);
      }
    }
    await rm(staging, { recursive: true, force: true });
  }
  return recovered;
}

