import { writeFileSync } from 'node:fs';
import type { Build, Logger } from '@binhost/shared';
import type { BuildLogWriter } from './build-log.js';
import { runEmerge, type EmergeOutcome } from './emerge-build.js';
import { followObservability } from './observability.js';
import { PackageStatsRecorder } from './package-stats.js';
import type { BuildQueueOptions } from './build-queue.js';

/** The second pass of a build after which Portage reported preserved libraries. */
const PRESERVED_REBUILD_ARGS: readonly string[] = ['@preserved-rebuild'];

/** What one build's emerge pass needs from the queue. */
export interface BuildEmergeContext {
  options: BuildQueueOptions;
  build: Build;
  writer: BuildLogWriter;
  signal: AbortSignal;
  log: Logger;
  /** The build's progress changed (current package, phase, "i of n"). */
  onProgress(): void;
}

/**
 * Runs emerge for a build: its arguments, then `@preserved-rebuild` when emerge asks for it.
 * Follows Portage's observability socket meanwhile (progress, per-package figures), falling back
 * to emerge's output, and leaves what each package took in `build.packages`. Throws when emerge
 * could not be started the way the config asks (the sandbox is missing, …).
 */
export async function runBuildEmerge(ctx: BuildEmergeContext): Promise<EmergeOutcome> {
  const { options, build, writer, signal, log } = ctx;
  const stats = new PackageStatsRecorder(options.layout.rootDir(build.root));
  // Portage's own account of the build, when it gives one, wins over what the output says
  let observed = false;
  const following = new AbortController();
  const observeDir = options.observe?.(build.root);
  const follower = observeDir
    ? followObservability(observeDir, following.signal, (s) => {
        stats.snapshot(s);
        const task = s.tasks.find((t) => t.kind === 'build') ?? s.tasks[0];
        if (!task) return;
        observed = true;
        Object.assign(build, { currentPackage: task.cpv, packageIndex: Math.min(s.completed + 1, s.total), packageCount: s.total, phase: task.phase });
        ctx.onProgress();
      })
    : Promise.resolve();
  const emerge = async (args: readonly string[]) =>
    runEmerge({
      launcher: options.launcher,
      command: options.command,
      rootDir: options.layout.rootDir(build.root),
      pkgDir: options.layout.pkgDir(build.root),
      args,
      extraEnv: await options.env(build.root),
      ...(options.wrap ? { wrap: (argv: string[]) => options.wrap!(build.root, argv) } : {}),
      log: writer,
      signal,
      graceMs: options.graceMs,
      // Recorded so a host restarted after being killed can stop an emerge it left running.
      onStart: (pid) => writeFileSync(options.store.pidFile(build.root, build.id), `${pid}\n`),
      onProgress: (p) => {
        if (observed) return;
        Object.assign(build, { currentPackage: p.currentPackage, packageIndex: p.packageIndex, packageCount: p.packageCount, phase: p.phase });
        ctx.onProgress();
      },
      onLine: (line) => stats.line(line),
    });
  try {
    let outcome = await emerge(build.args);
    if (outcome.exitCode === 0 && outcome.progress.preservedLibs && !signal.aborted) {
      // Packages of the root still link libraries an update replaced: their binpkgs would not
      // work on a target without the old library. Rebuild them now, as Portage asks (and as
      // Gentoo Build Publisher does after every build).
      writer.write('>>> binhost: emerge found preserved libraries; running emerge @preserved-rebuild');
      log.info('running @preserved-rebuild');
      outcome = await emerge(PRESERVED_REBUILD_ARGS);
    }
    return outcome;
  } finally {
    following.abort();
    await follower;
    build.packages = stats.result();
  }
}
