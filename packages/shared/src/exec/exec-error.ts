import { AgentError } from '../errors.js';

/**
 * A child process that could not be started, exited non-zero or was killed by a signal.
 * Carries the argv (never a shell string), the exit code or signal and a bounded tail of what
 * it wrote to stderr (or to stdout+stderr when the runner merged them), for error messages and logs.
 */
export class ExecError extends AgentError {
  override name = 'ExecError';
  constructor(
    readonly argv: readonly string[],
    /** Exit code, or null when the process was killed by a signal or never started. */
    readonly exitCode: number | null,
    /** The signal that ended the process, or null. */
    readonly signal: NodeJS.Signals | null,
    /** The last lines the process wrote (bounded), oldest first. */
    readonly stderrTail: readonly string[],
    options?: ErrorOptions & { message?: string },
  ) {
    super(options?.message ?? ExecError.describe(argv, exitCode, signal, stderrTail), undefined, options);
  }

  /** `gcc -E ... exited with 1: <last line>`: short enough for a log line or a gRPC status. */
  static describe(
    argv: readonly string[],
    exitCode: number | null,
    signal: NodeJS.Signals | null,
    tail: readonly string[],
  ): string {
    const cmd = argv.slice(0, 4).join(' ') + (argv.length > 4 ? ' …' : '');
    const how = signal ? `was killed by ${signal}` : exitCode === null ? 'could not be started' : `exited with ${exitCode}`;
    const last = tail.length > 0 ? `: ${tail[tail.length - 1]}` : '';
    return `${cmd} ${how}${last}`;
  }
}
