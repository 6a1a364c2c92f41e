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
  /** SIGKILL after this many milliseconds. @default no limit */
  timeoutMs?: number;
  /** Hand stdout to the caller as bytes ({@link StartedCommand.stdout}) instead of reading lines. @default false */
  rawStdout?: boolean;
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

/** A started command: its pid, a way to signal it, and how it ended. */
export interface StartedCommand {
  readonly pid: number | undefined;
  /** The child's stdout, for the caller to read, with {@link CommandSpec.rawStdout}. */
  readonly stdout: Readable | undefined;
  /** Signals the process (its whole group with `detached`); nothing once it has exited. */
  kill(signal: NodeJS.Signals): void;
  /**
   * Resolves when it has exited and its output has been read (at most 2 s after the exit: a
   * grandchild may keep the pipes open). `startError` is set when it never ran (ENOENT, EACCES).
   */
  readonly ended: Promise<CommandResult & { startError?: NodeJS.ErrnoException }>;
}

/**
 * The one process starter: `child_process.spawn(file, args)` with no shell, output line by line
 * (bounded tails) or stdout as bytes, optionally its own process group, abortable, with a
 * timeout. Every caller — emerge builds (build/emerge-process.ts), gpg, the compiler probe, the
 * stage3 decompressors, the target's installs — goes through it.
 */
export function startCommand(spec: CommandSpec): StartedCommand {
  const max = spec.tailLines ?? 50;
  const tail = new Tail(max);
  const errTail = new Tail(max);
  const child = spawn(spec.file, [...spec.args], {
    env: spec.env ?? process.env,
    cwd: spec.cwd,
    detached: spec.detached ?? false,
    stdio: ['pipe', 'pipe', 'pipe'],
    shell: false,
  });
  let exited = false;
  const kill = (signal: NodeJS.Signals): void => {
    if (exited || child.pid === undefined) return;
    try {
      // A negative pid signals the whole group, which only exists with `detached`.
      if (spec.detached) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // Already gone: nothing to stop.
    }
  };
  const onAbort = (): void => kill(spec.killSignal ?? 'SIGTERM');
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = spec.timeoutMs ? setTimeout(() => kill('SIGKILL'), spec.timeoutMs) : undefined;
  const reading = Promise.all([
    forEachLine(spec.rawStdout ? null : child.stdout, (l) => {
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
  const ended = new Promise<CommandResult & { startError?: NodeJS.ErrnoException }>((resolve) => {
    const result = (exitCode: number | null, signal: NodeJS.Signals | null, startError?: NodeJS.ErrnoException) => ({
      exitCode,
      signal,
      tail: tail.lines,
      stderrTail: errTail.lines,
      pid: child.pid,
      ...(startError ? { startError } : {}),
    });
    const finish = (r: ReturnType<typeof result>) => {
      exited = true;
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      // 'error' without a pid: the program could not be started at all
      if (child.pid === undefined) finish(result(null, null, err));
    });
    child.once('exit', (code, signal) => {
      exited = true;
      const grace = setTimeout(() => finish(result(code, signal)), 2000);
      void reading.then(() => {
        clearTimeout(grace);
        finish(result(code, signal));
      });
    });
  });
  return { pid: child.pid, stdout: spec.rawStdout ? child.stdout : undefined, kill, ended };
}

/** The default {@link CommandRunner}: {@link startCommand}, then the exit checked. */
export class SpawnCommandRunner implements CommandRunner {
  async run(spec: CommandSpec): Promise<CommandResult> {
    const argv = [spec.file, ...spec.args];
    spec.signal?.throwIfAborted();
    const { startError, ...result } = await startCommand(spec).ended;
    if (startError) throw new ExecError(argv, null, null, [], { cause: startError, message: `${spec.file}: ${startError.message}` });
    if ((spec.check ?? true) && (result.exitCode !== 0 || result.signal !== null)) {
      throw new ExecError(argv, result.exitCode, result.signal, result.stderrTail.length > 0 ? result.stderrTail : result.tail);
    }
    return result;
  }
}

/** Shorthand for `new SpawnCommandRunner().run(spec)`. */
export function runCommand(spec: CommandSpec): Promise<CommandResult> {
  return new SpawnCommandRunner().run(spec);
}
