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

/**
 * The same lock for the target agent (`<state_dir>/target.lock`): two targets on one state dir
 * would both write its mirror. And a state_dir that cannot be created is a configuration error.
 */
describe('target agent: one per state dir', () => {
  const h = useHarness({ prefix: 'binhost-tlock-' });
  const procs: AgentProcess[] = [];

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
  });

  const stateDir = () => join(h.dir, 'target-state');
  const lockFile = () => join(stateDir(), 'target.lock');
  const msg = (text: string) => (l: Record<string, unknown>) => l['msg'] === text;

  async function targetConfig(name: string, state = stateDir()): Promise<string> {
    const f = await h.pki.files('target', 'alpha');
    const file = join(h.dir, `${name}.toml`);
    // nothing listens on port 1: the target keeps retrying, which is all this needs
    await writeFile(file, `host = "127.0.0.1:1"\nroot = ${JSON.stringify(h.dir)}\nstate_dir = ${JSON.stringify(state)}\n[tls]\nca = ${JSON.stringify(f.ca)}\ncert = ${JSON.stringify(f.cert)}\nkey = ${JSON.stringify(f.key)}\n`);
    return file;
  }

  function spawnTarget(file: string): AgentProcess {
    const p = spawnAgent(AGENT_MAIN.target, ['--config', file]);
    procs.push(p);
    return p;
  }

  it('a second target on the same state_dir exits 78 naming the pid and the lock file; a clean stop releases it', async () => {
    const first = spawnTarget(await targetConfig('first'));
    await first.waitForLine(msg('started'));
    expect((await readFile(lockFile(), 'utf8')).split('\n')[0]).toBe(String(first.child.pid));

    const file = await targetConfig('second');
    const second = spawnTarget(file);
    expect(await second.exited).toBe(78);
    expect(second.stderr()).toBe(
      `binhost-target: configuration error: ${file}: state_dir: ${stateDir()} is in use by another target agent: ` +
        `pid ${first.child.pid} holds ${lockFile()}; stop that target first, or give this one its own state_dir\n`,
    );
    expect(first.child.exitCode).toBeNull();

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    await expect(access(lockFile())).rejects.toThrow(/ENOENT/);
    const third = spawnTarget(file);
    await third.waitForLine(msg('started'));
  });

  it('a state_dir under a regular file exits 78 naming state_dir, for the target and the host', async () => {
    const plain = join(h.dir, 'plain');
    await writeFile(plain, 'x');
    const file = await targetConfig('target', join(plain, 'state'));
    const target = spawnTarget(file);
    expect(await target.exited).toBe(78);
    expect(target.stderr()).toBe(
      `binhost-target: configuration error: ${file}: state_dir: cannot create ${join(plain, 'state')}: it or one of its parents is not a directory (ENOTDIR)\n`,
    );
    const f = await h.pki.files('host', 'host');
    const hostFile = join(h.dir, 'host.toml');
    await writeFile(hostFile, `listen = "127.0.0.1:0"\nstate_dir = ${JSON.stringify(join(plain, 'state'))}\n[tls]\nca = ${JSON.stringify(f.ca)}\ncert = ${JSON.stringify(f.cert)}\nkey = ${JSON.stringify(f.key)}\n`);
    const host = spawnAgent(AGENT_MAIN.host, ['--config', hostFile]);
    procs.push(host);
    expect(await host.exited).toBe(78);
    expect(host.stderr()).toBe(
      `binhost-host: configuration error: ${hostFile}: state_dir: cannot create ${join(plain, 'state')}: it or one of its parents is not a directory (ENOTDIR)\n`,
    );
  });
});
