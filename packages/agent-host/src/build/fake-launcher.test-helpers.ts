import { EventEmitter } from 'node:events';
import type { ProcessExit, ProcessLauncher, ProcessSpec, RunningProcess } from './emerge-process.js';

/** A process started by {@link FakeLauncher}: the test writes its output and decides when it exits. */
class FakeProcess implements RunningProcess {
  readonly pid = 4242;
  readonly kills: NodeJS.Signals[] = [];
  readonly exited: Promise<ProcessExit>;
  private resolve!: (exit: ProcessExit) => void;
  /** Exit at once on SIGTERM (true) or only on SIGKILL (a process that ignores TERM). */
  honourTerm = true;
  readonly events = new EventEmitter<{ kill: [NodeJS.Signals] }>();

  constructor(readonly spec: ProcessSpec) {
    this.exited = new Promise((r) => (this.resolve = r));
  }

  line(text: string): void {
    this.spec.onLine(text);
  }

  exit(exitCode: number | null, signal: NodeJS.Signals | null = null): void {
    this.resolve({ exitCode, signal });
  }

  kill(signal: NodeJS.Signals): void {
    this.kills.push(signal);
    this.events.emit('kill', signal);
    if (signal === 'SIGKILL' || this.honourTerm) this.exit(null, signal);
  }
}

/** A {@link ProcessLauncher} for unit tests: records every start, runs nothing. */
export class FakeLauncher implements ProcessLauncher {
  readonly started: FakeProcess[] = [];
  readonly events = new EventEmitter<{ start: [FakeProcess] }>();
  /** When set, the next start fails like a missing program. */
  startError: NodeJS.ErrnoException | undefined;

  start(spec: ProcessSpec): RunningProcess {
    const proc = new FakeProcess(spec);
    if (this.startError) {
      const err = this.startError;
      return { pid: undefined, exited: Promise.resolve({ exitCode: null, signal: null, startError: err }), kill: () => undefined };
    }
    this.started.push(proc);
    this.events.emit('start', proc);
    return proc;
  }

  /** Resolves with the `n`th process started (1-based), now or when it starts. */
  nth(n: number): Promise<FakeProcess> {
    const have = this.started[n - 1];
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => {
      const on = () => {
        const p = this.started[n - 1];
        if (!p) return;
        this.events.off('start', on);
        resolve(p);
      };
      this.events.on('start', on);
    });
  }
}
