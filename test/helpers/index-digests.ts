import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePackagesIndex, serializePackagesIndex, type IndexEntry } from '@binhost/shared';

/**
 * Rewrites SIZE, MD5 and SHA1 of every entry of PKGDIR/Packages to those of `buf`: a package
 * altered after it was built still passes the download checks, so only its signature can tell.
 */
export async function rewriteIndexDigests(pkgdir: string, buf: Buffer): Promise<void> {
  const index = parsePackagesIndex(await readFile(join(pkgdir, 'Packages'), 'utf8'));
  const fix = (p: IndexEntry) =>
    p.map(([k, v]) => {
      if (k === 'MD5') return [k, createHash('md5').update(buf).digest('hex')] as const;
      if (k === 'SHA1') return [k, createHash('sha1').update(buf).digest('hex')] as const;
      if (k === 'SIZE') return [k, String(buf.length)] as const;
      return [k, v] as const;
    });
  await writeFile(join(pkgdir, 'Packages'), serializePackagesIndex({ header: index.header, packages: index.packages.map(fix) }));
}
