import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ExecError } from './exec-error.js';

/** What to run: a program and its arguments as an array; there is never a shell in between. */
export interface CommandSpec {
  /** Program path or name looked up in PATH (`gcc`, `/usr/bin/emerge`). */
  file: string;
  /** Arguments after the program name. */
  args: readonly string[];
  /** The child's whole environment. @default process.env */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Aborting sends `killSignal` to the process (group, with `detached`). */
  signal?: AbortSignal;
  /** @default 'SIGTERM' */
  killSignal?: NodeJS.Signals;
  /** Run in its own process group so a cancel reaches its children too. @default false */
  detached?: boolean;
  /** Called for each line of stdout, without the newline. */
  onStdoutLine?: (line: string) => void;
  /** Called for each line of stderr, without the newline. */
  onStderrLine?: (line: string) => void;
  /** Bytes written to the child's stdin, then stdin is closed. @default stdin closed at once */
  input?: string | Uint8Array;
  /** How many of the last output lines to keep (stdout and stderr interleaved). @default 50 */
  tailLines?: number;
  /** Throw {@link ExecError} on a non-zero exit or a signal. @default true */
  check?: boolean;
}

/** How a command ended. */
export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last `tailLines` lines of output, oldest first. */
  tail: string[];
  /** The last `tailLines` lines of stderr only, oldest first. */
  stderrTail: string[];
  /** Process id (for process-group signalling), when it started. */
  pid: number | undefined;
}

/**
 * Runs commands. Product code takes one in its options so unit tests can pass a fake
 * (`FakeCommandRunner`) and integration tests a real runner with a stand-in program.
 */
export interface CommandRunner {
  run(spec: CommandSpec): Promise<CommandResult>;
}

/** Keeps the last `max` items pushed. */
class Tail {
  readonly lines: string[] = [];
  constructor(private readonly max: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
}

function forEachLine(stream: Readable | null, fn: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', fn);
  return new Promise((resolve) => rl.once('close', resolve));
}

/** The default {@link CommandRunner}: `child_process.spawn(file, args)` with no shell. */
export class SpawnCommandRunner implements CommandRunner {
  async run(spec: CommandSpec): Promise<CommandResult> {
    const argv = [spec.file, ...spec.args];
    const max = spec.tailLines ?? 50;
    const tail = new Tail(max);
    const errTail = new Tail(max);
    spec.signal?.throwIfAborted();
    const child = spawn(spec.file, [...spec.args], {
      env: spec.env ?? process.env,
      cwd: spec.cwd,
      detached: spec.detached ?? false,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
    });
    const killSignal = spec.killSignal ?? 'SIGTERM';
    const onAbort = (): void => {
      if (child.pid === undefined || child.exitCode !== null) return;
      try {
        // A negative pid signals the whole group, which only exists with `detached`.
        if (spec.detached) process.kill(-child.pid, killSignal);
        else child.kill(killSignal);
      } catch {
        // Already gone: nothing to stop.
      }
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    const reading = Promise.all([
      forEachLine(child.stdout, (l) => {
        tail.push(l);
        spec.onStdoutLine?.(l);
      }),
      forEachLine(child.stderr, (l) => {
        tail.push(l);
        errTail.push(l);
        spec.onStderrLine?.(l);
      }),
    ]);
    child.stdin.on('error', () => undefined); // EPIPE when the child does not read its input
    child.stdin.end(spec.input);
    try {
      const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, sig) => resolve([code, sig]));
      });
      await reading;
      const result = { exitCode, signal, tail: tail.lines, stderrTail: errTail.lines, pid: child.pid };
      if ((spec.check ?? true) && (exitCode !== 0 || signal !== null)) {
        throw new ExecError(argv, exitCode, signal, errTail.lines.length > 0 ? errTail.lines : tail.lines);
      }
      return result;
    } catch (err) {
      if (err instanceof ExecError) throw err;
      throw new ExecError(argv, null, null, [], { cause: err, message: `${spec.file}: ${(err as Error).message}` });
    } finally {
      spec.signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** Shorthand for `new SpawnCommandRunner().run(spec)`. */
export function runCommand(spec: CommandSpec): Promise<CommandResult> {
  return new SpawnCommandRunner().run(spec);
}
