import { runCommand } from '@binhost/shared';

/** What to run: an argv array (never a shell string) and its environment. */
export interface ArgvSpec {
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
export interface ArgvResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last {@link TAIL_LINES} lines of stdout+stderr. */
  readonly tail: readonly string[];
}

/** Lines of output kept for errors and reports. */
const TAIL_LINES = 60;

/**
 * Runs commands for the target agent (emerge, gpg): an argv-shaped view of shared's one process
 * starter (one argv array, one line callback, no spawning of its own), so tests can pass a fake.
 */
export interface ArgvRunner {
  run(spec: ArgvSpec): Promise<ArgvResult>;
}

/** The real {@link ArgvRunner}: the shared spawner (argv array, no shell), output line by line. */
export const spawnRunner: ArgvRunner = {
  async run(spec) {
    const [file, ...args] = spec.argv;
    if (!file) throw new Error('empty command');
    const result = await runCommand({
      file,
      args,
      ...(spec.env ? { env: spec.env } : {}),
      ...(spec.cwd ? { cwd: spec.cwd } : {}),
      ...(spec.signal ? { signal: spec.signal } : {}),
      ...(spec.input !== undefined ? { input: spec.input } : {}),
      onStdoutLine: (l) => spec.onLine?.(l, 'stdout'),
      onStderrLine: (l) => spec.onLine?.(l, 'stderr'),
      tailLines: TAIL_LINES,
      check: false,
    });
    return { exitCode: result.exitCode, signal: result.signal, tail: result.tail };
  },
};
