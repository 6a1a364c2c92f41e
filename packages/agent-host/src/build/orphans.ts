import { readdir, readFile, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { errnoCode, type Logger } from '@binhost/shared';

/** An emerge a killed host left running: its pid (= process group id) and its pid file. */
export interface OrphanedEmerge {
  pid: number;
  pidFile: string;
  buildId: number;
  root: string;
  /** The root's directory: what ROOT is in the environment of every process of that build. */
  rootDir: string;
}

/**
 * Whether `pid` still runs our emerge: its command line has `--buildpkg` and an argument with
 * the configured program's file name (a pid the kernel reused for something else is left alone).
 */
async function isOurEmerge(pid: number, command: readonly string[]): Promise<boolean> {
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
 * The processes of process group `pgid` that belong to a build in `rootDir` (their environment
 * has `ROOT=<rootDir>/`, which emerge passes to every ebuild phase). Read from /proc: the group
 * outlives its leader, and `ebuild.sh` children keep running after emerge itself was killed.
 */
export async function buildGroupMembers(pgid: number, rootDir: string): Promise<number[]> {
  const rootVar = `ROOT=${rootDir}/`;
  const members: number[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    const environ = await readFile(`/proc/${name}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(rootVar)) members.push(Number(name));
  }
  return members;
}

/**
 * Stops emerges that a host killed mid-build left running (they lead their own process group,
 * so they outlive the host): SIGTERM to the group, SIGKILL after `graceMs`. The group is
 * stopped when its leader is still our emerge, and also when the leader is gone but processes of
 * that build (same group, ROOT = that root) still run, such as an `ebuild.sh` compiling. A pid
 * the kernel reused for something else is left alone. Without this the orphan keeps the root
 * locked, and writes PKGDIR behind the next build's back.
 */
export async function reapOrphans(orphans: readonly OrphanedEmerge[], command: readonly string[], graceMs: number, log: Logger): Promise<void> {
  for (const o of orphans) {
    const running = async () => (alive(o.pid) && (await isOurEmerge(o.pid, command))) || (await buildGroupMembers(o.pid, o.rootDir)).length > 0;
    if (await running()) {
      log.warn({ root: o.root, buildId: o.buildId, pid: o.pid }, 'stopping emerge left running by the previous host');
      signalGroup(o.pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while ((await running()) && Date.now() < deadline) await delay(50);
      if (await running()) signalGroup(o.pid, 'SIGKILL');
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
