import type { ConfigReader } from './config-reader.js';
import { ConfigError } from '../errors.js';

/** Distributed compiles for the builds of one root (Portage's FEATURES=distcc). */
export interface DistccSettings {
  /** Helpers, one DISTCC_HOSTS word each (`10.0.0.2:3632/8`, `build2/4,lzo`, `localhost/2`); none: distcc off. @default [] */
  readonly hosts: readonly string[];
  /** distcc's pump mode: headers sent along, preprocessing on the helpers (`pump` from distcc-pump). @default false */
  readonly pump: boolean;
  /** MAKEOPTS -j of the builds; 0: the helpers' limits added up, plus this host's CPUs unless `localhost` is a helper. @default 0 */
  readonly jobs: number;
  /** Seconds a helper that failed is left alone (DISTCC_BACKOFF_PERIOD; 0 retries it on every file). @default 60 */
  readonly backoffSeconds: number;
}

/** The `[distcc]` table: settings for every root, and `[distcc.roots.NAME]` overrides per root. */
export interface DistccConfig extends DistccSettings {
  /** Per root (named as `binhostctl targets` shows it): each key given there replaces the global one; `enabled = false` turns distcc off. */
  readonly roots: Readonly<Record<string, Partial<DistccSettings> & { readonly enabled?: boolean }>>;
}

const DISTCC_DEFAULTS: DistccSettings = { hosts: [], pump: false, jobs: 0, backoffSeconds: 60 };

/**
 * One DISTCC_HOSTS word as distcc(1) spells it: `localhost[/N]`, `HOST[:PORT][/N][,OPTION…]`
 * (IPv6 in brackets), `@HOST[/N]` over ssh, `--randomize`, `--localslots=N`, `--localslots_cpp=N`.
 * Whitespace and quotes would split or break the variable, so they are refused here.
 */
const HOST_WORD = /^(?:--randomize|--localslots(?:_cpp)?=\d+|(?:@?[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?:\/\d{1,4})?(?:,[a-z]+)*)$/;

/** Reads `[distcc]` (absent: distcc off everywhere). */
export function readDistcc(d: ConfigReader): DistccConfig {
  const global = readSettings(d, DISTCC_DEFAULTS);
  const rootsReader = d.section('roots');
  const roots: Record<string, Partial<DistccSettings> & { enabled?: boolean }> = {};
  for (const name of rootsReader.keys()) {
    const r = rootsReader.section(name);
    const settings = readSettings(r, undefined);
    const enabled = r.optionalBoolean('enabled');
    r.finish();
    roots[name] = { ...settings, ...(enabled === undefined ? {} : { enabled }) };
  }
  rootsReader.finish();
  d.finish();
  return { ...global, roots };
}

function readSettings(r: ConfigReader, fallback: DistccSettings): DistccSettings;
function readSettings(r: ConfigReader, fallback: undefined): Partial<DistccSettings>;
function readSettings(r: ConfigReader, fallback: DistccSettings | undefined): Partial<DistccSettings> {
  const out: { -readonly [K in keyof DistccSettings]?: DistccSettings[K] } = {};
  const hosts = r.has('hosts') || fallback ? r.stringArray('hosts', fallback?.hosts ?? []) : undefined;
  if (hosts) {
    hosts.forEach((h, i) => {
      if (!HOST_WORD.test(h)) throw new ConfigError(r.file, `${r.prefixPath('hosts')}[${i}]`, `expected a DISTCC_HOSTS word like "10.0.0.2:3632/8" (see distcc(1)), got "${h}"`);
    });
    out.hosts = hosts;
  }
  if (r.has('pump') || fallback) out.pump = r.boolean('pump', fallback?.pump ?? false);
  if (r.has('jobs') || fallback) out.jobs = r.integer('jobs', fallback?.jobs ?? 0, 0, 4096);
  if (r.has('backoff_seconds') || fallback) out.backoffSeconds = r.integer('backoff_seconds', fallback?.backoffSeconds ?? 60, 0, 86_400);
  return out;
}

/** The settings a root's builds use, or undefined when distcc is off for it. */
export function distccFor(config: DistccConfig, root: string): DistccSettings | undefined {
  const own = config.roots[root] ?? {};
  if (own.enabled === false) return undefined;
  const settings: DistccSettings = {
    hosts: own.hosts ?? config.hosts,
    pump: own.pump ?? config.pump,
    jobs: own.jobs ?? config.jobs,
    backoffSeconds: own.backoffSeconds ?? config.backoffSeconds,
  };
  return settings.hosts.some((h) => !h.startsWith('--')) ? settings : undefined;
}
