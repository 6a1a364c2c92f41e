import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describeDistcc, distccFor, FailedPreconditionError, findProgram, type Build, type DistccConfig, type Logger } from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import type { BuildLogWriter } from '../build/build-log.js';
import { distccEnv, distccHosts, makeJobs, type DistccPaths } from './distcc-env.js';
import { assertNoPerMachineFlags } from './per-machine-flags.js';
import { addBackoff, helpersInBackoff, summarizeDistccLog } from './distcc-log.js';

/** Options for {@link DistccBuilds}. */
export interface DistccBuildsOptions {
  /** `[distcc]` as the host started with it; {@link DistccBuilds.setConfig} replaces it on reload. */
  config: DistccConfig;
  layout: HostLayout;
  /** The host config file, named in refusals. */
  configFile: string;
  /** The program pump mode wraps emerge in. @default 'pump', else 'distcc-pump' (Debian) */
  pump?: string;
  /** @default os.availableParallelism() */
  cpus?: number;
  log: Logger;
}

/**
 * Distributed compiles for the build queue: the environment that turns Portage's FEATURES=distcc
 * on for a root (its helpers, MAKEOPTS, DISTCC_DIR and DISTCC_LOG under the root's build temp dir,
 * which the sandbox keeps writable), the refusal of per-machine flags, and the figures read from
 * distcc's log when the build ends. The settings are read at each build start, so a SIGHUP
 * reload applies to the next build.
 */
export class DistccBuilds {
  private config: DistccConfig;
  /** What the running build of each root was started with, for its summary. */
  private readonly used = new Map<string, { hosts: string; makeJobs: number; pump: boolean; backoffSeconds: number }>();

  constructor(private readonly options: DistccBuildsOptions) {
    this.config = options.config;
  }

  /** Applies a reloaded `[distcc]`; running builds keep what they started with. */
  setConfig(config: DistccConfig): void {
    this.config = config;
  }

  paths(root: string): DistccPaths {
    const tmp = this.options.layout.buildTmpDir(root);
    return { dir: join(tmp, 'distcc'), log: join(tmp, 'distcc-client.log') };
  }

  /** A build of `root` starts (its first emerge run then clears distcc's log). */
  started(root: string): void {
    this.used.delete(root);
  }

  /**
   * The environment of one emerge run in `root`. With distcc on, refuses (before emerge starts)
   * a config whose flags each machine would resolve differently.
   */
  async env(root: string): Promise<Record<string, string>> {
    const settings = distccFor(this.config, root);
    const paths = this.paths(root);
    if (settings) {
      await assertNoPerMachineFlags(root, this.options.layout.rootDir(root), this.options.configFile);
      await mkdir(paths.dir, { recursive: true, mode: 0o755 });
      // the first run of this build: a log left by a build the host did not see end is not this one's
      if (!this.used.has(root)) await rm(paths.log, { force: true });
      const cpus = this.options.cpus ?? availableParallelism();
      this.used.set(root, { hosts: distccHosts(settings), makeJobs: makeJobs(settings, cpus), pump: settings.pump, backoffSeconds: settings.backoffSeconds });
    }
    return distccEnv(settings, paths, this.options.cpus ?? availableParallelism());
  }

  /** Pump mode runs emerge under distcc's `pump` (Portage has no FEATURES for it). */
  async wrap(root: string, argv: string[]): Promise<string[]> {
    if (!distccFor(this.config, root)?.pump) return argv;
    // distcc's script is `pump`; Debian installs it as `distcc-pump`
    const names = this.options.pump ? [this.options.pump] : ['pump', 'distcc-pump'];
    for (const name of names) if (await findProgram(name)) return [name, ...argv];
    throw new FailedPreconditionError(
      `distcc pump mode is on for root "${root}", but ${names.map((n) => `"${n}"`).join(' or ')} is not installed (Gentoo: sys-devel/distcc; Debian: distcc-pump), or set pump = false in ${this.options.configFile}`,
    );
  }

  /** After emerge: distcc's figures into the build record and one line into its log. */
  async afterEmerge(build: Build, log: BuildLogWriter): Promise<void> {
    const used = this.used.get(build.root);
    if (!used) return;
    this.used.delete(build.root);
    const file = this.paths(build.root).log;
    const text = await readFile(file, 'utf8').catch(() => '');
    build.distcc = summarizeDistccLog(text, used);
    addBackoff(build.distcc, helpersInBackoff(await this.lockFiles(build.root), used.backoffSeconds, Date.now()));
    log.write(`>>> binhost: ${describeDistcc(build.distcc)}`);
    if (build.distcc.fallbackJobs > 0) log.write(`>>> binhost: ${build.distcc.fallbackJobs} compile job(s) fell back to local compiles: no helper could take them`);
    this.options.log.info({ root: build.root, buildId: build.id, distcc: describeDistcc(build.distcc) }, 'distcc figures');
    await rm(file, { force: true });
  }

  /** distcc's lock dir (DISTCC_DIR/lock): its slot and backoff files. */
  private async lockFiles(root: string): Promise<Array<{ name: string; mtimeMs: number }>> {
    const dir = join(this.paths(root).dir, 'lock');
    const names = await readdir(dir).catch(() => []);
    const files = await Promise.all(names.map(async (name) => ({ name, mtimeMs: (await stat(join(dir, name)).catch(() => undefined))?.mtimeMs ?? 0 })));
    return files;
  }
}
