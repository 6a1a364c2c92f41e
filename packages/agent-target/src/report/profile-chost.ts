import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { FileKind, type FileEntry } from '@binhost/shared';

/** Profiles nest a few levels deep; a loop or a runaway chain stops here. */
const MAX_DEPTH = 32;

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // a profile dir without make.defaults or parent is normal
  }
}

/**
 * The CHOST a profile sets, as Portage stacks it: each `parent` first (later ones win), then the
 * profile's own `make.defaults`. Amd64 profiles get it from `profiles/arch/amd64/make.defaults`
 * (`CHOST="x86_64-pc-linux-gnu"`).
 */
function chostOf(dir: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return undefined;
  let value: string | undefined;
  for (const line of (read(join(dir, 'parent')) ?? '').split('\n')) {
    const p = line.trim();
    if (!p || p.startsWith('#')) continue;
    // "gentoo:default/linux" names a repository's profile; only relative parents are followed
    if (p.includes(':')) continue;
    value = chostOf(resolve(dir, p), depth + 1) ?? value;
  }
  const own = /^\s*(?:export\s+)?CHOST=(["']?)([A-Za-z0-9_.+-]+)\1\s*(?:#.*)?$/m.exec(read(join(dir, 'make.defaults')) ?? '');
  return own?.[2] ?? value;
}

/**
 * CHOST from the target's profile (its `etc/portage/make.profile`, read inside `root`), or
 * undefined when there is none or it sets none. This is what Portage uses when make.conf does not
 * set CHOST; the compiler's own triplet (`x86_64-linux-gnu` on Debian's gcc) is not.
 */
export function profileChost(root: string, files: readonly FileEntry[]): string | undefined {
  const link = files.find((f) => f.path === 'etc/portage/make.profile');
  if (!link) return undefined;
  const dir =
    link.kind === FileKind.FILE_KIND_SYMLINK
      ? isAbsolute(link.linkTarget)
        ? join(root, link.linkTarget)
        : resolve(root, 'etc/portage', link.linkTarget)
      : join(root, 'etc/portage/make.profile');
  return chostOf(dir, 0);
}
