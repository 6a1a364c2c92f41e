import { resolve } from 'node:path';
import { loadToml } from './load-toml.js';
import type { ConfigReader } from './config-reader.js';
import { assertStateDirPath, DEFAULT_PATHS, DEFAULT_PORT } from './paths.js';
import { addressName } from './dial-address.js';
import type { TlsFiles } from '../grpc/tls-files.js';
import { ConfigError } from '../errors.js';
import { readDistcc, type DistccConfig } from './distcc-config.js';

/** The host agent's configuration (`/etc/binhost/host.toml`), parsed and validated. */
export interface HostConfig {
  readonly configFile: string;
  /** `host:port` to listen on. @default '[::]:7453' */
  readonly listen: string;
  /** Targets' state, roots, builds and snapshots. @default '/var/lib/binhost' */
  readonly stateDir: string;
  /** @default 'info' */
  readonly logLevel: string;
  readonly tls: TlsFiles;
  readonly build: {
    /** The emerge command: a program and leading arguments. @default ['emerge'] */
    readonly emerge: readonly string[];
    /** Arguments of automatic builds. @default ['--update', '--deep', '--newuse', '--changed-deps=y', '--with-bdeps=y', '--usepkg=y', '@world'] */
    readonly autoArgs: readonly string[];
    /** Seconds between SIGTERM and SIGKILL when a build is cancelled. @default 30 */
    readonly cancelGraceSeconds: number;
    /** Published snapshots kept per root besides those a target still uses. @default 3 */
    readonly keepSnapshots: number;
    /** The host's C compiler, used to validate target flags. @default 'gcc' */
    readonly compiler: string;
    /** The host's Portage repository that target profiles are resolved in. @default '/var/db/repos/gentoo' */
    readonly repository: string;
    /** Run every build in a sandbox (bubblewrap); see README "What a build can and cannot touch". @default true */
    readonly sandbox: boolean;
    /** The bubblewrap program. @default 'bwrap' */
    readonly bwrap: string;
    /**
     * Host paths a `--root-deps` build writes (build dependencies merged for the host's `/`).
     * Each is an overlay per root: the writes land in that root's layer, the host's files never
     * change. @default ['/usr', '/etc', '/opt', '/var/db/pkg', '/var/lib/portage', '/var/cache/edb', '/var/log']
     */
    readonly hostWritable: readonly string[];
  };
  readonly retention: {
    /** Finished builds whose record and log are kept per root (older ones are removed). @default 50 */
    readonly keepBuilds: number;
    /**
     * Portage's `emaint` command, which rewrites a root's Packages index after retention removed
     * instances (`emaint binhost --fix`). @default build.emerge with its `emerge` replaced by the sibling `emaint` (else `emaint` from PATH)
     */
    readonly emaint: readonly string[];
  };
  readonly repos: {
    /**
     * What a target whose ebuild tree is older than the build's gets (README "Repository
     * revisions"): `warn` publishes and shows the skew in `status`; `hold` publishes, and the
     * target holds the install until its tree catches up (it reads its own trees then); `refuse`
     * does not publish to it (its previous snapshot stays) until it reports a tree at least as
     * new. @default 'warn'
     */
    readonly skewPolicy: 'warn' | 'hold' | 'refuse';
  };
  readonly signing: {
    /** @default 'gpg' */
    readonly gpg: string;
    /** Sign binary packages (Portage ≥ 3.0.78 refuses unsigned ones by default). @default true */
    readonly enabled: boolean;
  };
  /** Distributed compiles (`[distcc]`; live on SIGHUP): README "Building on more than one machine". */
  readonly distcc: DistccConfig;
}

export const HOST_DEFAULTS = {
  listen: `[::]:${DEFAULT_PORT}`,
  stateDir: DEFAULT_PATHS.hostStateDir,
  logLevel: 'info',
  emerge: ['emerge'],
  autoArgs: ['--update', '--deep', '--newuse', '--changed-deps=y', '--with-bdeps=y', '--usepkg=y', '@world'],
  cancelGraceSeconds: 30,
  keepSnapshots: 3,
  compiler: 'gcc',
  repository: '/var/db/repos/gentoo',
  gpg: 'gpg',
  bwrap: 'bwrap',
  hostWritable: ['/usr', '/etc', '/opt', '/var/db/pkg', '/var/lib/portage', '/var/cache/edb', '/var/log'],
  keepBuilds: 50,
} as const;

/**
 * `emaint` beside the configured emerge: `["/usr/bin/emerge"]` → `["/usr/bin/emaint"]`,
 * `["python3", "bin/emerge"]` → `["python3", "bin/emaint"]`; undefined when no word is an emerge.
 */
function siblingEmaint(emerge: readonly string[]): string[] | undefined {
  const i = emerge.findIndex((w) => /(^|\/)emerge$/.test(w));
  if (i < 0) return undefined;
  return [...emerge.slice(0, i), emerge[i]!.replace(/emerge$/, 'emaint')];
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** Loads and validates a host config file; relative paths are resolved against the file's directory. */
export async function loadHostConfig(file: string): Promise<HostConfig> {
  const r = await loadToml(file);
  return parseHostConfig(r, resolve(file, '..'));
}

/** Validates an already parsed config (see {@link ConfigReader}). */
function parseHostConfig(r: ConfigReader, baseDir: string): HostConfig {
  const abs = (p: string) => resolve(baseDir, p);
  const listen = r.string('listen', HOST_DEFAULTS.listen);
  // port 0 binds an ephemeral port (tests, the demo): the bound one is logged
  if (addressName(listen, 0) === undefined) {
    throw new ConfigError(r.file, 'listen', `expected "address:port" with a port from 0 to 65535, got "${listen}"`);
  }
  const stateDir = assertStateDirPath(r.file, 'state_dir', abs(r.string('state_dir', HOST_DEFAULTS.stateDir)));
  const logLevel = r.choice('log_level', LOG_LEVELS, 'info');
  const tls = readTls(r.section('tls'), abs);
  const b = r.section('build');
  const build = {
    emerge: b.command('emerge', HOST_DEFAULTS.emerge),
    autoArgs: b.stringArray('auto_args', HOST_DEFAULTS.autoArgs),
    cancelGraceSeconds: b.integer('cancel_grace_seconds', HOST_DEFAULTS.cancelGraceSeconds, 1, 3600),
    keepSnapshots: b.integer('keep_snapshots', HOST_DEFAULTS.keepSnapshots, 1, 1000),
    compiler: b.string('compiler', HOST_DEFAULTS.compiler),
    repository: abs(b.string('repository', HOST_DEFAULTS.repository)),
    sandbox: b.boolean('sandbox', true),
    bwrap: b.string('bwrap', HOST_DEFAULTS.bwrap),
    hostWritable: b.stringArray('host_writable', HOST_DEFAULTS.hostWritable),
  };
  for (const p of build.hostWritable) {
    if (!p.startsWith('/') || /[,:\\\n]/.test(p)) throw new ConfigError(r.file, 'build.host_writable', `expected absolute paths without "," ":" or "\\", got "${p}"`);
  }
  b.finish();
  const t = r.section('retention');
  const keepBuilds = t.integer('keep_builds', HOST_DEFAULTS.keepBuilds, 1, 100_000);
  const emaint = t.has('emaint') ? t.command('emaint', []) : (siblingEmaint(build.emerge) ?? ['emaint']);
  t.finish();
  const retention = { keepBuilds, emaint };
  const rp = r.section('repos');
  const repos = { skewPolicy: rp.choice('skew_policy', ['warn', 'hold', 'refuse'] as const, 'warn') };
  rp.finish();
  const s = r.section('signing');
  const signing = { gpg: s.string('gpg', HOST_DEFAULTS.gpg), enabled: s.boolean('enabled', true) };
  s.finish();
  const distcc = readDistcc(r.section('distcc'));
  r.finish();
  return { configFile: r.file, listen, stateDir, logLevel, tls, build, retention, repos, signing, distcc };
}

/** The `[tls]` table shared by every config file: ca, cert and key, all required. */
export function readTls(t: ConfigReader, abs: (p: string) => string): TlsFiles {
  const tls = { ca: abs(t.requiredString('ca')), cert: abs(t.requiredString('cert')), key: abs(t.requiredString('key')) };
  t.finish();
  return tls;
}
