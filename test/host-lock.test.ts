import { afterEach, describe, expect, it } from 'vitest';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useHarness } from './helpers/harness.js';
import { AGENT_MAIN, spawnAgent, type AgentProcess } from './helpers/agent-process.js';

/**
 * One host agent per state dir, with real processes: a second host on the same state_dir exits 78
 * naming the pid that holds `<state_dir>/host.lock`; a clean stop releases the lock; the lock of
 * a SIGKILLed host is taken over.
 */
describe('host agent: one per state dir', () => {
  const h = useHarness({ prefix: 'binhost-lock-' });
  const procs: AgentProcess[] = [];

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
  });

  const stateDir = () => join(h.dir, 'state');
  const lockFile = () => join(stateDir(), 'host.lock');
  const msg = (text: string) => (l: Record<string, unknown>) => l['msg'] === text;

  async function hostConfig(name: string): Promise<string> {
    const f = await h.pki.files('host', 'host');
    const file = join(h.dir, `${name}.toml`);
    await writeFile(file, `listen = "127.0.0.1:0"\nstate_dir = ${JSON.stringify(stateDir())}\n[tls]\nca = ${JSON.stringify(f.ca)}\ncert = ${JSON.stringify(f.cert)}\nkey = ${JSON.stringify(f.key)}\n`);
    return file;
  }

  function spawnHost(file: string): AgentProcess {
    const p = spawnAgent(AGENT_MAIN.host, ['--config', file]);
    procs.push(p);
    return p;
  }

  it('a second host on the same state_dir exits 78 naming the pid and the lock file; after a clean stop it starts', async () => {
    const first = spawnHost(await hostConfig('first'));
    await first.waitForLine(msg('listening'));
    expect((await readFile(lockFile(), 'utf8')).split('\n')[0]).toBe(String(first.child.pid));

    const file = await hostConfig('second');
    const second = spawnHost(file);
    expect(await second.exited).toBe(78);
    expect(second.stderr()).toBe(
      `binhost-host: configuration error: ${file}: state_dir: ${stateDir()} is in use by another host agent: ` +
        `pid ${first.child.pid} holds ${lockFile()}; stop that host first, or give this one its own state_dir\n`,
    );
    expect(first.child.exitCode).toBeNull(); // the first one never noticed

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    await expect(access(lockFile())).rejects.toThrow(/ENOENT/);

    const third = spawnHost(file);
    await third.waitForLine(msg('listening'));
    expect((await readFile(lockFile(), 'utf8')).split('\n')[0]).toBe(String(third.child.pid));
  });

  it('takes over the lock a SIGKILLed host left behind', async () => {
    const file = await hostConfig('host');
    const killed = spawnHost(file);
    await killed.waitForLine(msg('listening'));
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect((await readFile(lockFile(), 'utf8')).split('\n')[0]).toBe(String(killed.child.pid));

    const next = spawnHost(file);
    const warned = await next.waitForLine(msg('took over the lock of a host agent that is gone'));
    expect(warned).toMatchObject({ pid: killed.child.pid, lockFile: lockFile() });
    await next.waitForLine(msg('listening'));
    expect((await readFile(lockFile(), 'utf8')).split('\n')[0]).toBe(String(next.child.pid));
  });
});
