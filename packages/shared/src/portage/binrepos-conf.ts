import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, errnoCode } from '../errors.js';

/**
 * /etc/portage/binrepos.conf: Python configparser INI as Portage reads it (`[name]` sections,
 * `key = value` or `key: value`, `#`/`;` comment lines, `%(NAME)s` interpolation resolved by
 * {@link resolveBinrepoLocation}). The path may be a file or a directory; in a directory Portage
 * reads every file (recursively, sorted, skipping names starting with "." or ending with "~").
 */

/** One binary repository section. */
export interface BinRepo {
  /** The section name (`[binhost]`). */
  readonly name: string;
  /** `sync-uri` (required). */
  readonly syncUri: string;
  /** `priority`, when given. */
  readonly priority?: number;
  /** `verify-signature`, when given (configparser booleans: 1/yes/true/on, 0/no/false/off). */
  readonly verifySignature?: boolean;
  /** `location` as written (may contain `%(EROOT)s`). */
  readonly location?: string;
  /** Every key in file order, values as written, including the ones above. */
  readonly entries: ReadonlyArray<readonly [key: string, value: string]>;
  /** File the section came from (the last one, when several files define it). */
  readonly file: string;
}

const TRUE = new Set(['1', 'yes', 'true', 'on']);
const FALSE = new Set(['0', 'no', 'false', 'off']);

interface RawSection {
  name: string;
  where: string;
  file: string;
  entries: Array<[string, string]>;
}

/** Parses binrepos.conf text. `[DEFAULT]` is ignored. */
export function parseBinreposConf(text: string, file = 'binrepos.conf'): BinRepo[] {
  return parseSections(text, file).map((s) => toRepo(s.name, s.entries, s.where, s.file));
}

function parseSections(text: string, file: string): RawSection[] {
  const sections: RawSection[] = [];
  let current: (typeof sections)[number] | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    const section = /^\[([^\]]+)\]\s*$/.exec(trimmed);
    if (section) {
      current = { name: section[1]!.trim(), where: `${file}:${i + 1}`, file, entries: [] };
      sections.push(current);
      return;
    }
    if (/^\s/.test(line) && current?.entries.length) {
      // configparser continuation line: appended to the previous value
      const last = current.entries[current.entries.length - 1]!;
      last[1] = `${last[1]}\n${trimmed}`;
      return;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(trimmed);
    if (!kv) throw new ConfigError(`${file}:${i + 1}`, undefined, `expected "key = value", got ${JSON.stringify(trimmed.slice(0, 60))}`);
    if (!current) throw new ConfigError(`${file}:${i + 1}`, kv[1], 'key outside of any [section]');
    current.entries.push([kv[1]!.toLowerCase(), kv[2]!]);
  });
  return sections.filter((s) => s.name !== 'DEFAULT');
}

function toRepo(name: string, entries: ReadonlyArray<readonly [string, string]>, where: string, file: string): BinRepo {
  const get = (k: string) => entries.findLast(([key]) => key === k)?.[1];
  const syncUri = get('sync-uri');
  if (!syncUri) throw new ConfigError(where, `[${name}]`, 'sync-uri is required');
  const repo: { -readonly [K in keyof BinRepo]: BinRepo[K] } = { name, syncUri, entries, file };
  const priority = get('priority');
  if (priority !== undefined) {
    if (!/^-?\d+$/.test(priority.trim())) throw new ConfigError(where, `[${name}] priority`, `expected an integer, got ${JSON.stringify(priority)}`);
    repo.priority = Number(priority);
  }
  const verify = get('verify-signature')?.trim().toLowerCase();
  if (verify !== undefined) {
    if (!TRUE.has(verify) && !FALSE.has(verify)) {
      throw new ConfigError(where, `[${name}] verify-signature`, `expected true or false, got ${JSON.stringify(verify)}`);
    }
    repo.verifySignature = TRUE.has(verify);
  }
  const location = get('location');
  if (location !== undefined) repo.location = location;
  return repo;
}

/** Writes repos back as INI: one section per repo, its `entries` (or the typed fields) in order. */
export function serializeBinreposConf(repos: ReadonlyArray<Omit<BinRepo, 'entries' | 'file'> & { entries?: BinRepo['entries'] }>): string {
  return repos
    .map((r) => {
      const entries = r.entries ?? [
        ['sync-uri', r.syncUri],
        ...(r.priority !== undefined ? [['priority', String(r.priority)] as const] : []),
        ...(r.verifySignature !== undefined ? [['verify-signature', String(r.verifySignature)] as const] : []),
        ...(r.location !== undefined ? [['location', r.location] as const] : []),
      ];
      return `[${r.name}]\n${entries.map(([k, v]) => `${k} = ${v.replace(/\n/g, '\n\t')}\n`).join('')}`;
    })
    .join('\n');
}

/**
 * `location` with `%(NAME)s` resolved from `vars` (Portage passes EPREFIX, EROOT, ROOT), or
 * Portage's default `${EPREFIX}/var/cache/binhost/<name>` when the repo has none.
 */
export function resolveBinrepoLocation(repo: BinRepo, vars: Readonly<Record<string, string>>): string {
  if (repo.location === undefined) return join(vars['EPREFIX'] ?? '/', 'var/cache/binhost', repo.name);
  return repo.location.replace(/%\(([A-Za-z_]+)\)s/g, (_m, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new ConfigError(repo.file, `[${repo.name}] location`, `unknown interpolation %(${name})s`);
    return v;
  });
}

/** Files Portage reads for a config path that may be a file or a directory. */
async function portageConfigFiles(path: string): Promise<string[]> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  if (!st.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => !n.startsWith('.') && !n.endsWith('~')).sort();
  return (await Promise.all(names.map((n) => portageConfigFiles(join(path, n))))).flat();
}

/**
 * Reads binrepos.conf from `path` (file or directory). As with configparser reading several
 * files, a section that appears again in a later file gets its keys merged (later values win).
 * Missing path → [].
 */
export async function readBinreposConf(path: string): Promise<BinRepo[]> {
  const byName = new Map<string, RawSection>();
  for (const file of await portageConfigFiles(path)) {
    for (const s of parseSections(await readFile(file, 'utf8'), file)) {
      const prev = byName.get(s.name);
      byName.set(s.name, prev ? { ...s, entries: [...prev.entries, ...s.entries] } : s);
    }
  }
  return [...byName.values()].map((s) => toRepo(s.name, s.entries, s.where, s.file));
}
