import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** What to run: an argv array (never a shell string) and its environment. */
export interface CommandSpec {
  readonly argv: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Written to stdin, then closed. */
  readonly input?: string | Uint8Array;
  readonly signal?: AbortSignal;
  /** Each line of stdout and stderr, interleaved as they arrive. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** How a command ended, with the last lines of its output. */
export interface CommandResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last {@link TAIL_LINES} lines of stdout+stderr. */
  readonly tail: readonly string[];
}

/** Lines of output kept for errors and reports. */
export const TAIL_LINES = 60;

/**
 * Runs commands for the target agent (emerge, gpg). A minimal local version of the shared
 * CommandRunner: spawn with an argv array, no shell, line by line, bounded, abortable.
 */
export interface CommandRunner {
  run(spec: CommandSpec): Promise<CommandResult>;
}

/** The real {@link CommandRunner}: `child_process.spawn` without a shell. */
export const spawnRunner: CommandRunner = {
  run(spec) {
    const [file, ...args] = spec.argv;
    if (!file) return Promise.reject(new Error('empty command'));
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        env: spec.env ?? process.env,
        cwd: spec.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(spec.signal ? { signal: spec.signal } : {}),
      });
      const tail: string[] = [];
      const line = (stream: 'stdout' | 'stderr') => (l: string) => {
        tail.push(l);
        if (tail.length > TAIL_LINES) tail.shift();
        spec.onLine?.(l, stream);
      };
      const closes = [
        new Promise((r) => createInterface({ input: child.stdout }).on('line', line('stdout')).on('close', r)),
        new Promise((r) => createInterface({ input: child.stderr }).on('line', line('stderr')).on('close', r)),
      ];
      child.stdin.on('error', () => undefined); // a command that does not read its input
      child.stdin.end(spec.input);
      child.once('error', reject);
      child.once('close', (exitCode, signal) => {
        void Promise.all(closes).then(() => resolve({ exitCode, signal, tail }));
      });
    });
  },
};
