import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { indexValue, type IndexEntry, type PackagesIndex } from '@binhost/shared';
import { entryPath, newerFirst } from '../gc/retention-plan.js';

/**
 * Keys of an index entry that make two instances of one CPV the same build for a target: the USE
 * it was built with and what it depends on and provides. An instance equal in these to the one
 * targets have is a rebuild that changes nothing they would notice (BUILD_TIME, BUILD_ID, MD5 aside).
 */
const SAME_BUILD_KEYS = ['USE', 'IUSE', 'SLOT', 'EAPI', 'DEPEND', 'RDEPEND', 'BDEPEND', 'PDEPEND', 'IDEPEND', 'PROVIDES', 'REQUIRES', 'RESTRICT', 'LICENSE'];

/** What {@link selectInstances} decides from. */
export interface SelectOptions {
  /** The root (for its vdb: what is installed there is what matches the target's config now). */
  rootDir: string;
  /** The previous snapshot's index, if any. */
  previous: PackagesIndex | undefined;
  /** The previous snapshot was built from the same config digest as this one. */
  sameConfig: boolean;
  /** `build --reinstall-rebuilt`: always the newest matching instance. */
  reinstallRebuilt: boolean;
}

/**
 * One instance per package for a snapshot (PKGDIR lists every instance ever built, and a target
 * installing with `--getbinpkgonly --update --deep` — which implies `--rebuilt-binaries` —
 * reinstalls every new BUILD_ID). Per CPV:
 *  1. the instance that matches: the one the root has installed (its vdb BUILD_TIME), else the
 *     newest with the installed USE, else the newest;
 *  2. but when the previous snapshot's instance is the same build (same USE, deps, …: SAME_BUILD_KEYS)
 *     and the config digest did not change, that one stays, byte for byte, so targets that have it
 *     reinstall nothing; `reinstallRebuilt` (an admin's explicit rebuild) turns this off.
 */
export async function selectInstances(index: PackagesIndex, options: SelectOptions): Promise<PackagesIndex> {
  const byCpv = new Map<string, IndexEntry[]>();
  for (const e of index.packages) {
    const cpv = indexValue(e, 'CPV') ?? entryPath(e);
    byCpv.set(cpv, [...(byCpv.get(cpv) ?? []), e]);
  }
  const previous = new Map((options.previous?.packages ?? []).map((e) => [indexValue(e, 'CPV') ?? entryPath(e), e]));
  const chosen = new Set<IndexEntry>();
  for (const [cpv, instances] of byCpv) {
    const sorted = [...instances].sort(newerFirst);
    const installed = await readVdb(options.rootDir, cpv);
    const match =
      sorted.find((e) => installed.buildTime !== undefined && indexValue(e, 'BUILD_TIME') === installed.buildTime) ??
      sorted.find((e) => installed.use !== undefined && sameWords(indexValue(e, 'USE'), installed.use)) ??
      sorted[0]!;
    const prev = previous.get(cpv);
    const keep = prev && !options.reinstallRebuilt && options.sameConfig ? instances.find((e) => entryPath(e) === entryPath(prev)) : undefined;
    chosen.add(keep && sameBuild(keep, match) ? keep : match);
  }
  const packages = index.packages.filter((e) => chosen.has(e));
  const header = index.header.map(([k, v]) => [k, k === 'PACKAGES' ? String(packages.length) : v] as const);
  return { header, packages };
}

function sameBuild(a: IndexEntry, b: IndexEntry): boolean {
  return SAME_BUILD_KEYS.every((k) => (k === 'USE' || k === 'IUSE' ? sameWords(indexValue(a, k), indexValue(b, k)) : (indexValue(a, k) ?? '') === (indexValue(b, k) ?? '')));
}

function sameWords(a: string | undefined, b: string | undefined): boolean {
  const norm = (s: string | undefined) => (s ?? '').split(/\s+/).filter(Boolean).sort().join(' ');
  return norm(a) === norm(b);
}

/** BUILD_TIME and USE of `cpv` as installed in the root (`var/db/pkg/CAT/PF/`), when it is. */
async function readVdb(rootDir: string, cpv: string): Promise<{ buildTime?: string; use?: string }> {
  if (!/^[A-Za-z0-9+_.-]+\/[A-Za-z0-9+_.-]+$/.test(cpv)) return {};
  const dir = join(rootDir, 'var/db/pkg', cpv);
  const read = (f: string) => readFile(join(dir, f), 'utf8').then((s) => s.trim(), () => undefined);
  const [buildTime, use] = await Promise.all([read('BUILD_TIME'), read('USE')]);
  return { ...(buildTime ? { buildTime } : {}), ...(use !== undefined ? { use } : {}) };
}
