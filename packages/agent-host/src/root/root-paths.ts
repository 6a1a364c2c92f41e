import { lstat, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { FailedPreconditionError } from '@binhost/shared';

/** Paths inside a root that the host itself writes (config swap, PKGDIR, the stage3's binhost). */
export const HOST_WRITTEN_PATHS = ['etc/portage/binrepos.conf', 'var/lib/portage/world', 'var/cache/binpkgs'] as const;

/**
 * Checks that `rel` (a '/'-separated path inside the root, like `etc/portage`) resolves inside
 * the root on the host's filesystem. A stage3's absolute symlinks are kept verbatim, so
 * `etc -> /etc` in a root would make `<root>/etc/portage` the host's own /etc/portage; the host
 * must never write there. Components that do not exist yet are fine (they will be created as
 * plain directories).
 */
export async function assertInsideRoot(rootPath: string, rel: string): Promise<void> {
  const realRoot = await realpath(rootPath);
  let at = rootPath;
  for (const part of rel.split('/')) {
    at = join(at, part);
    const st = await lstat(at).catch(() => undefined);
    if (!st) return;
    if (!st.isSymbolicLink()) continue;
    const real = await realpath(at).catch(() => undefined);
    if (real === undefined || (real !== realRoot && !real.startsWith(realRoot + sep))) {
      throw new FailedPreconditionError(`${at} resolves outside the root${real ? ` (to ${real})` : ''}: refusing to write there`);
    }
  }
}
