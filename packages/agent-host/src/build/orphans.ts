import { readFile, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { errnoCode, type Logger } from '@binhost/shared';

/** An emerge a killed host left running: its pid (= process group id) and its pid file. */
export interface OrphanedEmerge {
  pid: number;
  pidFile: string;
  buildId: number;
  root: string;
}

/**
 * Whether `pid` still runs our emerge: its command line has `--buildpkg` and an argument with
 * the configured program's file name (a pid the kernel reused for something else is left alone).
 */
export async function isOurEmerge(pid: number, command: readonly string[]): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const args = cmdline.split('\0');
  const program = basename(command[0] ?? 'emerge');
  return args.includes('--buildpkg') && args.some((a) => basename(a) === program);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/**
 * Stops emerges that a host killed mid-build left running (they lead their own process group,
 * so they outlive the host): SIGTERM to the group, SIGKILL after `graceMs`. Without this the
 * orphan keeps the root locked, and writes PKGDIR behind the next build's back.
 */
export async function reapOrphans(orphans: readonly OrphanedEmerge[], command: readonly string[], graceMs: number, log: Logger): Promise<void> {
  for (const o of orphans) {
    if (alive(o.pid) && (await isOurEmerge(o.pid, command))) {
      log.warn({ root: o.root, buildId: o.buildId, pid: o.pid }, 'stopping emerge left running by the previous host');
      signalGroup(o.pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (alive(o.pid) && (await isOurEmerge(o.pid, command)) && Date.now() < deadline) await delay(50);
      if (alive(o.pid) && (await isOurEmerge(o.pid, command))) signalGroup(o.pid, 'SIGKILL');
    }
    await rm(o.pidFile, { force: true });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}
