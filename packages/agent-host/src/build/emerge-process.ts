import { startCommand } from '@binhost/shared';

/** What to start: a program, its arguments (never a shell string) and its whole environment. */
export interface ProcessSpec {
  file: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Each line of stdout and stderr, interleaved as they arrive, without the newline. */
  onLine(line: string): void;
}

/** How a process ended; `startError` is set when it never ran (ENOENT, EACCES). */
export interface ProcessExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  startError?: NodeJS.ErrnoException;
}

/** A started process and its whole process group. */
export interface RunningProcess {
  readonly pid: number | undefined;
  /** Resolves once the process has exited and its output has been read. */
  readonly exited: Promise<ProcessExit>;
  /** Signals the process group (emerge's children too). Does nothing once it has exited. */
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts build processes. The build queue takes one in its options, so unit tests can pass a
 * fake and integration tests the real one with a stand-in emerge.
 */
export interface ProcessLauncher {
  start(spec: ProcessSpec): RunningProcess;
}

/**
 * The real launcher: shared's {@link startCommand} with `detached: true`, so the child leads its
 * own process group and a cancel reaches everything emerge started (ebuild.sh, make, gcc):
 * `process.kill(-pid, sig)` signals the group.
 */
export const spawnLauncher: ProcessLauncher = {
  start(spec) {
    const started = startCommand({
      file: spec.file,
      args: spec.args,
      env: spec.env,
      ...(spec.cwd ? { cwd: spec.cwd } : {}),
      detached: true,
      check: false,
      tailLines: 1,
      onStdoutLine: spec.onLine,
      onStderrLine: spec.onLine,
    });
    const exited = started.ended.then(({ exitCode, signal, startError }) => ({ exitCode, signal, ...(startError ? { startError } : {}) }));
    return { pid: started.pid, exited, kill: started.kill };
  },
};
