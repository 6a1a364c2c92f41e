import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { AgentError, ConfigError, errnoCode, errorMessage } from '../errors.js';

/** Another live agent holds the lock of the state dir. */
export class StateDirLockedError extends AgentError {
  override name = 'StateDirLockedError';
  constructor(
    readonly lockFile: string,
    readonly pid: number,
    readonly agent: string,
  ) {
    super(`in use by another ${agent} agent: pid ${pid} holds ${lockFile}`, status.FAILED_PRECONDITION);
  }
}

/** What {@link lockStateDir} needs to know. */
interface StateDirOptions {
  /** `host` or `target`: the lock is `<state_dir>/<agent>.lock`. */
  agent: 'host' | 'target';
  configFile: string;
  stateDir: string;
  /** Creates the state dir. @default mkdir -p, mode 0755 */
  prepare?: () => Promise<void>;
  /** Told about a stale lock (of a process that is gone) that was taken over. */
  onStale?: (pid: number, lockFile: string) => void;
}

/**
 * Creates the state dir and takes its lock: one agent per state dir, as two would corrupt it.
 * Both failures are {@link ConfigError}s naming `state_dir` (exit 78, not retried by systemd): a
 * state dir that cannot be created (a parent is a file, no permission, read-only), and one
 * another live agent holds (naming its pid).
 */
export async function lockStateDir(o: StateDirOptions): Promise<StateDirLock> {
  try {
    await (o.prepare ?? (() => mkdir(o.stateDir, { recursive: true, mode: 0o755 })))();
  } catch (err) {
    const code = errnoCode(err);
    if (code === undefined) throw err;
    const why =
      code === 'ENOTDIR' || code === 'EEXIST' ? 'it or one of its parents is not a directory' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only filesystem' : errorMessage(err);
    throw new ConfigError(o.configFile, 'state_dir', `cannot create ${o.stateDir}: ${why} (${code})`, { cause: err });
  }
  const lockFile = join(o.stateDir, `${o.agent}.lock`);
  try {
    return await StateDirLock.acquire(lockFile, o.agent, (pid) => o.onStale?.(pid, lockFile));
  } catch (err) {
    if (!(err instanceof StateDirLockedError)) throw err;
    const why = `${o.stateDir} is ${err.message}; stop that ${o.agent} first, or give this one its own state_dir`;
    throw new ConfigError(o.configFile, 'state_dir', why, { cause: err });
  }
}

/** Who holds a lock: its pid and, on Linux, what tells a reused pid apart (boot id, start time). */
interface Holder {
  pid: number;
  /** `boot=<boot_id> start=<ticks>`; '' where /proc has neither. */
  identity: string;
}

/**
 * One agent per state dir: `<state_dir>/host.lock` (or `target.lock`) holds the pid of the agent that owns it.
 *
 * The file is written whole to a temp name and then hard-linked into place, which fails with
 * EEXIST when a lock exists: taking the lock is atomic, and a reader never sees half a lock. A
 * lock whose pid is dead — or was reused by another process since (the boot id or the process
 * start time differs, so a lock left by a crash before a reboot never blocks a start) — is stale
 * and taken over: it is renamed aside first, so of two agents starting at once only the one whose
 * rename moved the stale file goes on. Released by {@link StateDirLock.release} on a clean stop.
 */
export class StateDirLock {
  private constructor(
    readonly file: string,
    private readonly content: string,
  ) {}

  /**
   * Takes the lock; {@link StateDirLockedError} (naming the pid) when a live process holds it.
   * `onStale` is told about a stale lock that was taken over.
   */
  static async acquire(file: string, agent: string, onStale?: (pid: number) => void): Promise<StateDirLock> {
    const content = format(await selfHolder());
    const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(tmp, content, { mode: 0o644 });
    try {
      // A few rounds: each lost race (the lock vanished or appeared meanwhile) starts over.
      for (let round = 0; round < 5; round++) {
        try {
          await link(tmp, file);
          return new StateDirLock(file, content);
        } catch (err) {
          if (errnoCode(err) !== 'EEXIST') throw err;
        }
        const seen = await readOptional(file);
        if (seen === undefined) continue;
        const holder = parse(seen);
        if (holder && (await isAlive(holder))) throw new StateDirLockedError(file, holder.pid, agent);
        if (await takeOver(file, seen)) onStale?.(holder?.pid ?? 0);
      }
      throw new AgentError(`could not take ${file}: it keeps changing (another ${agent} agent starting?)`, status.UNAVAILABLE);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Removes the lock file if it is still ours. */
  async release(): Promise<void> {
    if ((await readOptional(this.file)) === this.content) await rm(this.file, { force: true });
  }
}

/**
 * Removes the stale lock `seen`: renamed aside, then checked to be the file judged stale. If
 * another starting agent replaced it meanwhile, its lock is linked back (and the next round sees
 * it held). Returns whether the stale lock was removed by this call.
 */
async function takeOver(file: string, seen: string): Promise<boolean> {
  const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(file, aside);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
  try {
    if ((await readOptional(aside)) === seen) return true;
    await link(aside, file).catch(() => undefined);
    return false;
  } finally {
    await rm(aside, { force: true });
  }
}

function format(h: Holder): string {
  return `${h.pid}\n${h.identity}\n`;
}

function parse(text: string): Holder | undefined {
  const [first = '', identity = ''] = text.split('\n');
  const pid = Number(first.trim());
  return Number.isInteger(pid) && pid > 0 ? { pid, identity: identity.trim() } : undefined;
}

async function selfHolder(): Promise<Holder> {
  return { pid: process.pid, identity: await identityOf(process.pid) };
}

/** `boot=<boot_id> start=<ticks since boot>` of a live process (Linux), '' elsewhere or when gone. */
async function identityOf(pid: number): Promise<string> {
  const boot = (await readOptional('/proc/sys/kernel/random/boot_id'))?.trim();
  const stat = await readOptional(`/proc/${pid}/stat`);
  if (!boot || stat === undefined) return '';
  // The command name (field 2) is in parentheses and may hold anything; start time is field 22.
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  return start ? `boot=${boot} start=${start}` : '';
}

async function isAlive(holder: Holder): Promise<boolean> {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user
    if (errnoCode(err) !== 'EPERM') return false;
  }
  if (!holder.identity) return true;
  const now = await identityOf(holder.pid);
  // no /proc here: the pid check above is all there is
  return now === '' ? !(await readOptional('/proc/self/stat')) : now === holder.identity;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}
