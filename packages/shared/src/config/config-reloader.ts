import type { Logger } from 'pino';
import { ConfigError, errorMessage } from '../errors.js';
import { changedPaths, fileKey, takePaths } from './config-changes.js';

/** Options for {@link createConfigReloader}. */
export interface ConfigReloaderOptions<C extends { readonly logLevel: string }> {
  /** The config file, read again on every reload. */
  file: string;
  /** The agent's loader (`loadHostConfig`, `loadTargetConfig`). */
  load: (file: string) => Promise<C>;
  /** The config the agent started with. */
  current: C;
  /**
   * Paths (camelCase, as in the parsed config) that take effect without a restart; a table's
   * path (`distcc`) covers everything in it. `logLevel` is always live: the reloader sets it on
   * `log`'s root logger, whose children follow it.
   */
  liveKeys: readonly string[];
  /** Puts the new effective config in place (`daemon.config = next`); called only when something live changed. */
  apply?: (next: C, applied: readonly string[]) => void;
  /** The daemon's root logger: its level is the live `log_level`. */
  log: Logger;
}

/** What one reload did. Keys are spelled as in the file (`install.policy`). */
export interface ReloadOutcome {
  ok: boolean;
  applied: string[];
  restartRequired: string[];
  /** Why the new file was refused (the running config is kept). */
  error?: string;
}

/** A reloader: call `reload()` on SIGHUP; reloads run one at a time. */
export interface ConfigReloader<C> {
  reload(): Promise<ReloadOutcome>;
  /** The config in effect: the live keys of the latest good file, the rest as started. */
  readonly current: C;
}

/**
 * Reloads a config file on demand. A file that does not load is logged with the loader's message
 * (file and key) and changes nothing; a good one has its live keys applied, and every other
 * changed key is logged as "restart required" and keeps its running value, so the effective
 * config never mixes in settings the agent is not actually using.
 */
export function createConfigReloader<C extends { readonly logLevel: string }>(options: ConfigReloaderOptions<C>): ConfigReloader<C> {
  const log = options.log.child({ component: 'config' });
  const live = new Set(['logLevel', ...options.liveKeys]);
  let current = options.current;
  let queue: Promise<unknown> = Promise.resolve();

  async function reloadOnce(): Promise<ReloadOutcome> {
    let next: C;
    try {
      next = await options.load(options.file);
    } catch (err) {
      const error = errorMessage(err);
      // A ConfigError's message already names the file and the key.
      log.error({ err, file: options.file, ...(err instanceof ConfigError ? { key: err.key } : {}) }, `config reload failed, keeping the running config: ${error}`);
      return { ok: false, applied: [], restartRequired: [], error };
    }
    const changed = changedPaths(current, next);
    const covering = (p: string) => [...live].find((k) => p === k || p.startsWith(`${k}.`));
    const applied = changed.filter((p) => covering(p));
    const restart = changed.filter((p) => !covering(p));
    if (applied.length > 0) {
      // a covered table is taken over whole, so keys removed from the file go too
      const effective = takePaths(current, next, [...new Set(applied.map((p) => covering(p)!))]);
      try {
        options.apply?.(effective, applied.map(fileKey));
      } catch (err) {
        // Reloads run from a signal handler: a failure is logged, never an unhandled rejection.
        log.error({ err, file: options.file }, 'config reload failed to apply, keeping the running config');
        return { ok: false, applied: [], restartRequired: [], error: errorMessage(err) };
      }
      current = effective;
      options.log.level = current.logLevel;
    }
    const outcome = { ok: true, applied: applied.map(fileKey), restartRequired: restart.map(fileKey) };
    log.info({ file: options.file, applied: outcome.applied }, 'config reloaded');
    if (restart.length > 0) {
      log.warn({ keys: outcome.restartRequired }, `restart required for ${outcome.restartRequired.join(', ')}`);
    }
    return outcome;
  }

  return {
    reload() {
      const run = queue.then(reloadOnce);
      queue = run.catch(() => undefined);
      return run;
    },
    get current() {
      return current;
    },
  };
}
