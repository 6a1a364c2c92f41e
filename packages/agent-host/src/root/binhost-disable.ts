import { lstat, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Root-relative places where a stage3 (or a target) configures a binary package host. Recent
 * stage3s ship `etc/portage/binrepos.conf/gentoobinhost.conf` pointing at Gentoo's official
 * binhost; with it, an emerge in the root could install foreign packages built for a generic CPU.
 */
const BINREPOS_PATHS = ['etc/portage/binrepos.conf'] as const;

/**
 * Disables every binhost entry a freshly extracted stage3 carries: each file of
 * `etc/portage/binrepos.conf/` is renamed to `.NAME.disabled` (Portage reads every file of a
 * config directory except hidden ones and `~` backups, so a plain `*.disabled` would still be
 * read); a `binrepos.conf` file becomes `binrepos.conf.disabled`.
 * Returns the root-relative paths that were disabled.
 */
export async function disableStage3Binhosts(root: string): Promise<string[]> {
  const disabled: string[] = [];
  for (const rel of BINREPOS_PATHS) {
    const abs = join(root, rel);
    const st = await lstat(abs).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) {
      for (const name of (await readdir(abs)).sort()) {
        if (name.startsWith('.') || name.endsWith('~')) continue;
        await rename(join(abs, name), join(abs, `.${name}.disabled`));
        disabled.push(`${rel}/${name}`);
      }
    } else {
      await rename(abs, `${abs}.disabled`);
      disabled.push(rel);
    }
  }
  return disabled;
}
