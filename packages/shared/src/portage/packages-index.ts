import { InvalidArgumentError } from '../errors.js';

/** One block of a `Packages` file: ordered `KEY: value` pairs, as Portage writes them. */
export type IndexEntry = ReadonlyArray<readonly [key: string, value: string]>;

/** A parsed binhost `Packages` index: the header block, then one block per package instance. */
export interface PackagesIndex {
  readonly header: IndexEntry;
  readonly packages: readonly IndexEntry[];
}

/**
 * Parses Portage's `Packages` index (PKGDIR/Packages): blocks of `KEY: value` lines separated by
 * blank lines, the first block being the header. Key order is kept, so {@link serializePackagesIndex}
 * gives the same bytes back. See portage's `lib/portage/getbinpkg.py` (PackageIndex.read).
 */
export function parsePackagesIndex(text: string, source = 'Packages'): PackagesIndex {
  const blocks: Array<Array<[string, string]>> = [];
  let current: Array<[string, string]> = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line === '') {
      if (current.length) blocks.push(current);
      current = [];
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new InvalidArgumentError(`${source}:${i + 1}: expected "KEY: value", got ${JSON.stringify(line.slice(0, 80))}`);
    current.push([line.slice(0, colon), line.slice(colon + 1).replace(/^ /, '')]);
  });
  if (current.length) blocks.push(current);
  const [header = [], ...packages] = blocks;
  return { header, packages };
}

/** Writes an index back in Portage's layout: header, blank line, each package block then a blank line. */
export function serializePackagesIndex(index: PackagesIndex): string {
  const block = (e: IndexEntry) => e.map(([k, v]) => `${k}: ${v}\n`).join('');
  return block(index.header) + '\n' + index.packages.map((p) => block(p) + '\n').join('');
}

/** The value of `key` in a block, or undefined. */
export function indexValue(entry: IndexEntry, key: string): string | undefined {
  return entry.find(([k]) => k === key)?.[1];
}
