import type { DistccSettings } from '@binhost/shared';

/** distcc's own default per helper when a DISTCC_HOSTS word gives no `/LIMIT` (distcc(1)). */
const DEFAULT_LIMIT = { remote: 4, localhost: 2 };

/** The helpers' job limits added up (`--randomize` and `--localslots…` are options, not helpers). */
function helperSlots(hosts: readonly string[]): { total: number; hasLocalhost: boolean } {
  let total = 0;
  let hasLocalhost = false;
  for (const word of hosts) {
    if (word.startsWith('--')) continue;
    const isLocal = /^localhost(?:[/,]|$)/.test(word);
    hasLocalhost ||= isLocal;
    const limit = /\/(\d+)/.exec(word);
    total += limit ? Number(limit[1]) : isLocal ? DEFAULT_LIMIT.localhost : DEFAULT_LIMIT.remote;
  }
  return { total, hasLocalhost };
}

/**
 * MAKEOPTS -j for a build with these helpers: `jobs` when set, else the helpers' limits plus this
 * host's CPUs (links, configure tests and preprocessing stay here) unless `localhost` is itself
 * listed as a helper with its own limit.
 */
export function makeJobs(settings: DistccSettings, cpus: number): number {
  if (settings.jobs > 0) return settings.jobs;
  const { total, hasLocalhost } = helperSlots(settings.hosts);
  return total + (hasLocalhost ? 0 : Math.max(1, cpus));
}

/** DISTCC_HOSTS as the build uses it: in pump mode each remote helper gets `,cpp,lzo` (distcc-pump(1)). */
export function distccHosts(settings: DistccSettings): string {
  const words = settings.hosts.map((w) => {
    if (!settings.pump || w.startsWith('--') || /^localhost(?:[/,]|$)/.test(w) || /,cpp\b/.test(w)) return w;
    return /,lzo\b/.test(w) ? `${w},cpp` : `${w},cpp,lzo`;
  });
  return words.join(' ');
}

/** Where a root's distcc state and log live: under its build temp dir, writable in the sandbox. */
export interface DistccPaths {
  /** DISTCC_DIR: distcc's lock, backoff and monitor state. */
  dir: string;
  /** DISTCC_LOG: distcc's client log of the running build (summarized when it ends). */
  log: string;
}

/**
 * The environment that turns Portage's own FEATURES=distcc on for a build (Portage then puts
 * distcc's masquerade dir first on PATH and makes DISTCC_DIR; see README "Building on more than
 * one machine"). With distcc off for the root, `-distcc`: a target's own FEATURES="distcc" and
 * DISTCC_HOSTS, meant for its own network, must not make the host's builds use them.
 */
export function distccEnv(settings: DistccSettings | undefined, paths: DistccPaths, cpus: number): Record<string, string> {
  if (!settings) return { FEATURES: '-distcc' };
  return {
    FEATURES: 'distcc',
    DISTCC_HOSTS: distccHosts(settings),
    MAKEOPTS: `-j${makeJobs(settings, cpus)}`,
    DISTCC_DIR: paths.dir,
    DISTCC_LOG: paths.log,
    // distcc's own: a helper that failed is left alone this long instead of being tried per file
    DISTCC_BACKOFF_PERIOD: String(settings.backoffSeconds),
    // compile here when no helper can (distcc's default, spelled out: the build must not fail for it)
    DISTCC_FALLBACK: '1',
  };
}
