import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useHarness } from './helpers/harness.js';
import { makePortageRoot, runEmerge, startEmerge, type StartedEmerge } from './helpers/emerge-stand-in.js';
import { waitFor } from './helpers/wait-for.js';

describe('stand-in emerge lock, delay and SIGTERM', () => {
  const h = useHarness({ prefix: 'stand-in-lock-', pki: false });
  let running: StartedEmerge | undefined;

  afterEach(async () => {
    running?.child.kill('SIGKILL');
    await running?.done;
    running = undefined;
  });

  it('refuses a second emerge on a locked root, dies promptly on SIGTERM and frees the lock', async () => {
    const root = await makePortageRoot(join(h.dir, 'binhost'));
    const lock = join(root, 'var/db/.pkg.portage_lockfile');
    running = startEmerge(root, ['--buildpkg', 'app-misc/hello'], { BINHOST_FAKE_EMERGE_DELAY_MS: '20000' });
    const pid = running.child.pid!;
    await waitFor(() => existsSync(lock) && readFileSync(lock, 'utf8').trim() === String(pid), { what: 'lock taken' });
    await waitFor(() => running!.output().includes('>>> Unpacking source...'), { what: 'first phase' });

    const second = await runEmerge(root, ['--buildpkg', 'app-misc/greet']);
    expect(second.code).toBe(1);
    expect(second.output).toContain(` * waiting for lock on ${lock} ...\n!!! ${lock} is locked by another emerge (pid ${pid}); the stand-in does not wait`);

    // with BINHOST_FAKE_EMERGE_LOCK_WAIT=1 it waits like real emerge, and goes on once the lock is free
    const waiter = startEmerge(root, ['--buildpkg', 'app-misc/greet'], { BINHOST_FAKE_EMERGE_LOCK_WAIT: '1' });
    await waitFor(() => waiter.output().includes(` * waiting for lock on ${lock} ...`), { what: 'waiting line' });

    const killedAt = Date.now();
    running.child.kill('SIGTERM');
    const result = await running.done;
    running = undefined;
    expect(result.code).toBe(143);
    expect(Date.now() - killedAt).toBeLessThan(5000);
    // the killed run released its lock (the waiter may hold it by now) and left no package behind
    expect(existsSync(lock) && readFileSync(lock, 'utf8').trim() === String(pid)).toBe(false);
    expect(existsSync(join(root, 'var/cache/binpkgs/app-misc/hello'))).toBe(false);

    const waited = await waiter.done;
    expect(waited.code, waited.output).toBe(0);
    expect(waited.output).toContain(`>>> Completed (1 of 1) app-misc/greet-1.0::gentoo to ${root}`);
  });

  it('takes over a stale lock (an empty file as Portage leaves it, or a dead pid)', async () => {
    const root = await makePortageRoot(join(h.dir, 'binhost'));
    const lock = join(root, 'var/db/.pkg.portage_lockfile');
    await mkdir(join(root, 'var/db'), { recursive: true });
    await writeFile(lock, '');
    expect((await runEmerge(root, ['--buildpkg', 'app-misc/hello'])).code).toBe(0);
    const dead = startEmerge(root, ['--version']);
    const deadPid = dead.child.pid!;
    await dead.done;
    await writeFile(lock, `${deadPid}\n`);
    const run = await runEmerge(root, ['--buildpkg', 'app-misc/hello']);
    expect(run.code, run.output).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });
});
