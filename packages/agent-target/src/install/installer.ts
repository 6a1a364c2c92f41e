import { join, resolve } from 'node:path';
import type { InstallPlan, Logger } from '@binhost/shared';
import type { ArgvResult, ArgvRunner } from '../exec/command-runner.js';
import { DEFAULT_INSTALL_ARGS, INSTALL_FLAGS, parsePlan, stripAnsi } from './plan.js';

/**
 * emerge's environment for the target root. Portage's verification keyring is the running
 * system's `/etc/portage/gnupg` whatever ROOT is; for a root other than `/` it is pointed at the
 * root's own keyring, where the agent imported the host's key.
 */
function installEnv(root: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ROOT: root, PORTAGE_CONFIGROOT: root };
  if (resolve(root) !== '/') env.BINPKG_GPG_VERIFY_GPG_HOME = join(root, 'etc', 'portage', 'gnupg');
  return env;
}

/** Options for {@link Installer}. */
export interface InstallerOptions {
  /** ROOT = PORTAGE_CONFIGROOT of every emerge. */
  root: string;
  /** The configured emerge command (`install.emerge`). */
  emerge: readonly string[];
  runner: ArgvRunner;
  log: Logger;
}

/**
 * Runs the configured emerge against the target root: a `--pretend` plan first, then the install,
 * always with `--getbinpkgonly --binpkg-respect-use=y --binpkg-changed-deps=y` (`-G` alone would
 * silently install packages built with other USE flags). Holds no lock of its own: Portage's
 * locks are Portage's, taken only while emerge runs, so a local emerge is never blocked by the
 * agent waiting for the host.
 */
export class Installer {
  constructor(private readonly options: InstallerOptions) {}

  /** The emerge arguments for `args` (empty: `--update --deep --newuse @world`). */
  static argsFor(args: readonly string[]): readonly string[] {
    return args.length ? args : DEFAULT_INSTALL_ARGS;
  }

  async plan(snapshotId: number, args: readonly string[], onLine: (l: string) => void, signal: AbortSignal): Promise<{ plan: InstallPlan; result: ArgvResult }> {
    const lines: string[] = [];
    const result = await this.emerge(['--pretend', ...INSTALL_FLAGS, ...Installer.argsFor(args)], (l) => (lines.push(l), onLine(l)), signal);
    return { plan: parsePlan(lines, result.exitCode, snapshotId, Installer.argsFor(args)), result };
  }

  async install(args: readonly string[], onLine: (l: string) => void, signal: AbortSignal): Promise<ArgvResult> {
    return this.emerge([...INSTALL_FLAGS, ...Installer.argsFor(args)], onLine, signal);
  }

  private emerge(args: readonly string[], onLine: (l: string) => void, signal: AbortSignal): Promise<ArgvResult> {
    const { root, emerge, runner, log } = this.options;
    const argv = [...emerge, ...args];
    log.info({ argv }, 'running emerge');
    return runner.run({
      argv,
      env: installEnv(root),
      signal,
      onLine: (line) => {
        const clean = stripAnsi(line);
        log.debug({ line: clean }, 'emerge');
        onLine(clean);
      },
    });
  }
}
