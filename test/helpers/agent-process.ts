import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built entry points (`npm test` runs `tsc -b` first), run as the service managers run them. */
export const AGENT_MAIN = {
  host: fileURLToPath(new URL('../../packages/agent-host/dist/main.js', import.meta.url)),
  target: fileURLToPath(new URL('../../packages/agent-target/dist/main.js', import.meta.url)),
  cli: fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url)),
} as const;

/** A spawned agent process whose JSON log lines (stdout) and stderr are collected as they arrive. */
export interface AgentProcess {
  child: ChildProcess;
  /** Parsed JSON lines from stdout so far (a line that is not JSON is kept as `{ text }`). */
  lines: Record<string, unknown>[];
  stderr(): string;
  /**
   * Resolves with the first log line from index `since` on (past or future) matching `match`;
   * rejects after `timeoutMs` or if the process exits first.
   */
  waitForLine(match: (line: Record<string, unknown>) => boolean, options?: { since?: number; timeoutMs?: number }): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
}

/** Spawns `node MAIN ARGS` (argv array, no shell). */
export function spawnAgent(main: string, args: string[]): AgentProcess {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const text of parts.filter(Boolean)) lines.push(parseLine(text));
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of waiters) w();
  });
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    waitForLine(match, { since = 0, timeoutMs = 15_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.slice(since).find(match);
          if (hit || done) {
            waiters.delete(check);
            clearTimeout(timer);
            if (hit) resolve(hit);
            else reject(new Error(`process exited before the expected log line; stderr: ${err}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching log line within ${timeoutMs} ms; got: ${lines.map((l) => l['msg']).join(' | ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

function parseLine(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { text };
  }
}
