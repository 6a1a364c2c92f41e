import { lstat, readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * What Portage's FEATURES=observability says about one running task (Portage ≥ 3.0.82,
 * `_emerge/_observability.py`, schema 1), checked: the socket lives in a directory the build can
 * write, so whatever arrives is data from the root's build, never trusted further than that.
 */
export interface ObservedTask {
  cpv: string;
  /** The ROOT it is built for, as Portage spells it ("…/roots/alpha/" or the building machine's "/"). */
  root: string;
  kind: 'build' | 'merge';
  phase: string;
  /** Seconds since the build started (frozen when it finished). */
  buildElapsed: number | undefined;
  /** With FEATURES=cgroup: CPU microseconds and peak memory bytes of the build. */
  cpuUsec: number | undefined;
  memPeak: number | undefined;
}

/** One snapshot of a running emerge. */
export interface ObservedSnapshot {
  completed: number;
  total: number;
  tasks: ObservedTask[];
}

/** Longest snapshot line read; a real one is a few KiB. */
const MAX_LINE = 1 << 20;
const CPV = /^[A-Za-z0-9+_][A-Za-z0-9+_.-]*\/[A-Za-z0-9+_][A-Za-z0-9+_.-]*$/;
const PHASE = /^[a-z_-]{1,40}$/;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

/** Reads one snapshot line; undefined for anything that is not a well-formed schema-1 snapshot. */
export function parseObservedSnapshot(line: string): ObservedSnapshot | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const o = raw as Record<string, unknown>;
  if (o.type !== 'snapshot' || o.schema !== 1 || typeof o.jobs !== 'object' || o.jobs === null || !Array.isArray(o.tasks)) return undefined;
  const jobs = o.jobs as Record<string, unknown>;
  const tasks: ObservedTask[] = [];
  for (const t of o.tasks.slice(0, 1000) as unknown[]) {
    if (typeof t !== 'object' || t === null) continue;
    const task = t as Record<string, unknown>;
    if (typeof task.cpv !== 'string' || !CPV.test(task.cpv) || typeof task.root !== 'string' || task.root.length > 4096) continue;
    const resources = typeof task.resources === 'object' && task.resources !== null ? (task.resources as Record<string, unknown>) : {};
    tasks.push({
      cpv: task.cpv,
      root: task.root,
      kind: task.kind === 'merge' ? 'merge' : 'build',
      phase: typeof task.phase === 'string' && PHASE.test(task.phase) ? task.phase : '',
      buildElapsed: num(task.build_elapsed) ?? num(task.elapsed),
      cpuUsec: num(resources.cpu_usec),
      memPeak: num(resources.mem_peak),
    });
  }
  return { completed: num(jobs.completed) ?? 0, total: num(jobs.total) ?? 0, tasks };
}

/**
 * Follows the emerge running in a root through its observability socket (`emerge-<pid>.sock` in
 * `dir`, Portage's /run/portage as the build sandbox binds it): every snapshot goes to
 * `onSnapshot` until `signal` aborts. Nothing arrives from a Portage without the feature; the
 * caller then relies on emerge's output. The socket is only read, never written to.
 */
export async function followObservability(dir: string, signal: AbortSignal, onSnapshot: (s: ObservedSnapshot) => void): Promise<void> {
  while (!signal.aborted) {
    const socket = await findSocket(dir);
    if (socket) await readSnapshots(socket, signal, onSnapshot);
    await delay(200, undefined, { signal }).catch(() => undefined);
  }
}

async function findSocket(dir: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => /^emerge-\d+\.sock$/.test(n))) {
    const path = join(dir, name);
    // a socket, not a link the build planted towards some other socket of the host
    if ((await lstat(path).catch(() => undefined))?.isSocket()) return path;
  }
  return undefined;
}

function readSnapshots(path: string, signal: AbortSignal, onSnapshot: (s: ObservedSnapshot) => void): Promise<void> {
  return new Promise((resolve) => {
    const sock = connect(path);
    let buffered = '';
    const stop = () => sock.destroy();
    signal.addEventListener('abort', stop, { once: true });
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE && !buffered.includes('\n')) {
        sock.destroy();
        return;
      }
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const snapshot = parseObservedSnapshot(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (snapshot) onSnapshot(snapshot);
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      signal.removeEventListener('abort', stop);
      resolve();
    });
  });
}
