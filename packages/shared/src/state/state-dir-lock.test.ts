import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateDirLock, StateDirLockedError } from './state-dir-lock.js';

describe('StateDirLock', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'host-lock-'));
    file = join(dir, 'host.lock');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('holds the pid; a second acquire is refused naming it; release removes the file', async () => {
    const lock = await StateDirLock.acquire(file, 'host');
    expect((await readFile(file, 'utf8')).split('\n')[0]).toBe(String(process.pid));
    const second = await StateDirLock.acquire(file, 'host').catch((err: unknown) => err);
    expect(second).toBeInstanceOf(StateDirLockedError);
    expect(second).toMatchObject({ pid: process.pid, lockFile: file });
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over the lock of a dead pid, of a reused pid, and a damaged lock file', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    // our own pid, but recorded with another start time: the pid was reused since
    const reused = `${process.pid}\nboot=00000000-0000-0000-0000-000000000000 start=1\n`;
    for (const stale of [`${dead}\n\n`, reused, '', 'garbage']) {
      await writeFile(file, stale);
      const taken: number[] = [];
      const lock = await StateDirLock.acquire(file, 'host', (pid) => taken.push(pid));
      expect(taken).toHaveLength(1);
      expect((await readFile(file, 'utf8')).split('\n')[0]).toBe(String(process.pid));
      await lock.release();
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('release leaves a lock that is no longer its own', async () => {
    const lock = await StateDirLock.acquire(file, 'host');
    await writeFile(file, '1\n\n');
    await lock.release();
    expect(await readFile(file, 'utf8')).toBe('1\n\n');
  });
});
