import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

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

function forEachLine(stream: Readable | null, fn: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', fn);
  return new Promise((resolve) => rl.once('close', resolve));
}

/**
 * The real launcher: `spawn(file, args, { detached: true })` with no shell, so the child leads its
 * own process group and a cancel reaches everything emerge started (ebuild.sh, make, gcc):
 * `process.kill(-pid, sig)` signals the group.
 */
export const spawnLauncher: ProcessLauncher = {
  start(spec) {
    const child = spawn(spec.file, [...spec.args], {
      env: spec.env,
      cwd: spec.cwd,
      detached: true,
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let done = false;
    const exited = new Promise<ProcessExit>((resolve) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        // 'error' without a pid means the program could not be started at all.
        if (child.pid === undefined) {
          done = true;
          resolve({ exitCode: null, signal: null, startError: err });
        }
      });
      const reading = Promise.all([forEachLine(child.stdout, spec.onLine), forEachLine(child.stderr, spec.onLine)]);
      child.once('exit', (code, signal) => {
        done = true;
        // Output pipes may outlive the leader when a grandchild keeps them open: do not wait
        // forever for them.
        const grace = setTimeout(() => resolve({ exitCode: code, signal }), 2000);
        void reading.then(() => {
          clearTimeout(grace);
          resolve({ exitCode: code, signal });
        });
      });
    });
    return {
      pid: child.pid,
      exited,
      kill(signal) {
        if (done || child.pid === undefined) return;
        try {
          process.kill(-child.pid, signal);
        } catch {
          // ESRCH: the group is already gone.
        }
      },
    };
  },
};
