import { emptyProgress, findEmergeFailure, parseEmergeLine, stripAnsi, type EmergeFailure, type EmergeProgress } from '@binhost/shared';
import type { ProcessLauncher } from './emerge-process.js';
import type { BuildLogWriter } from './build-log.js';

/**
 * Variables dropped from the host's own environment before emerge starts: each would override
 * the target's applied config (Portage lets the environment win over make.conf) or point emerge
 * somewhere else than the root. The guide's three are then set explicitly.
 */
const SCRUBBED_ENV = [
  'ROOT', 'EROOT', 'SYSROOT', 'PORTAGE_CONFIGROOT', 'PKGDIR', 'DISTDIR', 'PORTAGE_TMPDIR', 'PORTAGE_BINHOST',
  'FEATURES', 'USE', 'CFLAGS', 'CXXFLAGS', 'FCFLAGS', 'FFLAGS', 'LDFLAGS', 'CHOST', 'EMERGE_DEFAULT_OPTS',
  'BINPKG_FORMAT', 'BINPKG_COMPRESS', 'ACCEPT_KEYWORDS', 'ACCEPT_LICENSE', 'MAKEFLAGS',
] as const;

/** What one emerge run needs. */
export interface EmergeRunOptions {
  launcher: ProcessLauncher;
  /** `config.build.emerge`: the program and its leading arguments. */
  command: readonly string[];
  /** The root directory (ROOT = PORTAGE_CONFIGROOT) and its PKGDIR, without trailing slashes. */
  rootDir: string;
  pkgDir: string;
  /** Arguments after `--buildpkg --root-deps`. */
  args: readonly string[];
  /** Set on top of the scrubbed environment (signing, see signing/signing-env.ts). */
  extraEnv: Readonly<Record<string, string>>;
  /** Wraps the emerge argv (the build sandbox, see build-sandbox.ts). */
  wrap?: (argv: string[]) => Promise<string[]>;
  baseEnv?: NodeJS.ProcessEnv;
  log: BuildLogWriter;
  /** Called whenever the parsed progress changes. */
  onProgress(progress: EmergeProgress): void;
  /** Every output line, without colour codes. */
  onLine?(line: string): void;
  /** Called once emerge has a pid (it leads its own process group). */
  onStart?(pid: number): void;
  /** Aborting cancels: SIGTERM to the process group, SIGKILL after `graceMs`. */
  signal: AbortSignal;
  graceMs: number;
}

/** How an emerge run ended. */
export interface EmergeOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The program could not be started (ENOENT: not installed / wrong build.emerge). */
  startError?: NodeJS.ErrnoException;
  cancelled: boolean;
  /** Another emerge held this lock file; the run was stopped. */
  lockedBy: string;
  progress: EmergeProgress;
  /** Why emerge failed, from its output (signature refusal, package and phase, …). */
  failure: EmergeFailure | undefined;
}

/** Lines kept for explaining a failure: a signature refusal block and a compiler error fit. */
const FAILURE_CONTEXT_LINES = 300;

/** The exact argv: `[...build.emerge, '--buildpkg', '--root-deps', ...args]`. */
function emergeArgv(command: readonly string[], args: readonly string[]): string[] {
  return [...command, '--buildpkg', '--root-deps', ...args];
}

/** The guide's environment: `ROOT=<root>/ PORTAGE_CONFIGROOT=<root>/ PKGDIR=<root>/var/cache/binpkgs/`. */
export function emergeEnv(options: Pick<EmergeRunOptions, 'rootDir' | 'pkgDir' | 'extraEnv' | 'baseEnv'>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...(options.baseEnv ?? process.env) };
  for (const key of SCRUBBED_ENV) delete env[key];
  return { ...env, ...options.extraEnv, ROOT: `${options.rootDir}/`, PORTAGE_CONFIGROOT: `${options.rootDir}/`, PKGDIR: `${options.pkgDir}/` };
}

/**
 * Runs emerge once in a root: spawned with an argv array in its own process group, every line
 * to the build log, progress parsed as it goes. Stops the run (TERM, then KILL after the grace
 * period) when cancelled or when emerge reports that another emerge holds the root's lock:
 * Portage would wait for it indefinitely, and a build that silently hangs is worse than one
 * that says why it did not run.
 */
export async function runEmerge(options: EmergeRunOptions): Promise<EmergeOutcome> {
  const plain = emergeArgv(options.command, options.args);
  const argv = options.wrap ? await options.wrap(plain) : plain;
  const [file, ...args] = argv;
  const progress = emptyProgress();
  const recent: string[] = [];
  let killTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  const proc = options.launcher.start({
    file: file ?? 'emerge',
    args,
    env: emergeEnv(options),
    cwd: options.rootDir,
    onLine(raw) {
      // ebuild helpers and gcc colour their output even off a terminal; stored logs stay plain
      const line = stripAnsi(raw);
      options.log.write(line);
      recent.push(line);
      if (recent.length > FAILURE_CONTEXT_LINES) recent.shift();
      options.onLine?.(line);
      if (!parseEmergeLine(progress, line)) return;
      options.onProgress(progress);
      if (progress.waitingForLock) stop();
    },
  });
  if (proc.pid !== undefined) options.onStart?.(proc.pid);
  function stop(): void {
    if (stopping) return;
    stopping = true;
    proc.kill('SIGTERM');
    killTimer = setTimeout(() => proc.kill('SIGKILL'), options.graceMs);
  }
  const onAbort = (): void => stop();
  if (options.signal.aborted) stop();
  else options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await proc.exited;
    const failure = exit.exitCode === 0 ? undefined : findEmergeFailure(recent);
    return { ...exit, cancelled: options.signal.aborted, lockedBy: progress.waitingForLock, progress, failure };
  } finally {
    clearTimeout(killTimer);
    options.signal.removeEventListener('abort', onAbort);
  }
}
