import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@binhost/shared';
import { buildGroupMembers, reapOrphans } from './orphans.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('reapOrphans', () => {
  const groups: number[] = [];
  afterEach(() => {
    for (const g of groups.splice(0)) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        // stopped by the test
      }
    }
  });

  it("stops the build's process group when emerge, its leader, is gone and ebuild.sh children still run", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orphans-'));
    const rootDir = join(dir, 'roots/alpha');
    // the group leader (standing in for emerge) starts a long child and exits at once, as a
    // SIGKILLed emerge leaves its ebuild.sh behind; both have ROOT=<root>/ like every build process
    const leader = spawn('sh', ['-c', 'sleep 300 & echo $!'], { detached: true, env: { ...process.env, ROOT: `${rootDir}/` }, stdio: ['ignore', 'pipe', 'ignore'] });
    groups.push(leader.pid!);
    const child = Number((await new Promise<Buffer>((r) => leader.stdout!.once('data', r))).toString().trim());
    await new Promise((r) => leader.once('exit', r));
    expect(alive(leader.pid!)).toBe(false);
    expect(await buildGroupMembers(leader.pid!, rootDir)).toEqual([child]);
    // another root's group member is never taken for this build's
    expect(await buildGroupMembers(leader.pid!, join(dir, 'roots/beta'))).toEqual([]);

    const pidFile = join(dir, '1.pid');
    await writeFile(pidFile, `${leader.pid}\n`);
    await reapOrphans([{ pid: leader.pid!, pidFile, buildId: 1, root: 'alpha', rootDir }], ['/usr/bin/emerge'], 2000, silentLogger());
    for (let i = 0; i < 100 && alive(child); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(child)).toBe(false);
    await rm(dir, { recursive: true, force: true });
  });
});
