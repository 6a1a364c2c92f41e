import { afterEach, describe, expect, it } from 'vitest';
import { access, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { useHarness } from './helpers/harness.js';
import { AGENT_MAIN, spawnAgent, type AgentProcess } from './helpers/agent-process.js';

/**
 * The built daemons as a service manager runs them: real processes, real signals, real files.
 * SIGHUP reloads the config (a broken file is refused and the process keeps running), SIGTERM
 * stops with exit 0, and a misconfiguration exits 78 (EX_CONFIG) with one line naming file and key.
 */
describe('agent processes: signals and exit codes', () => {
  const h = useHarness({ prefix: 'binhost-signals-' });
  let proc: AgentProcess | undefined;

  afterEach(async () => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    proc = undefined;
  });

  async function tlsBlock(role: 'host' | 'target', name: string): Promise<string> {
    const f = await h.pki.files(role, name);
    return `[tls]\nca = ${JSON.stringify(f.ca)}\ncert = ${JSON.stringify(f.cert)}\nkey = ${JSON.stringify(f.key)}\n`;
  }

  async function hostConfig(top: string): Promise<string> {
    const file = join(h.dir, 'host.toml');
    await writeFile(file, `listen = "127.0.0.1:0"\nstate_dir = ${JSON.stringify(join(h.dir, 'state'))}\n${top}\n${await tlsBlock('host', 'host')}`);
    return file;
  }

  const msg = (text: string) => (l: Record<string, unknown>) => typeof l['msg'] === 'string' && l['msg'].startsWith(text);

  it('host: SIGHUP with a broken file keeps running on the old config; a good file applies log_level; SIGTERM exits 0', async () => {
    const file = await hostConfig('log_level = "info"');
    proc = spawnAgent(AGENT_MAIN.host, ['--config', file]);
    await proc.waitForLine(msg('listening'));

    await writeFile(file, 'log_level = "info"\nbogus_key = 1\n' + (await tlsBlock('host', 'host')));
    let since = proc.lines.length;
    proc.child.kill('SIGHUP');
    const failed = await proc.waitForLine(msg('config reload failed'), { since });
    expect(failed['msg']).toContain(`${file}: bogus_key: unknown key`);
    expect(failed['key']).toBe('bogus_key');
    expect(failed['level']).toBe(50);
    expect(proc.child.exitCode).toBeNull();

    // log_level applies live; a changed listen address needs a restart and is reported as such.
    await writeFile(file, `listen = "127.0.0.1:1"\nstate_dir = ${JSON.stringify(join(h.dir, 'state'))}\nlog_level = "debug"\n${await tlsBlock('host', 'host')}`);
    since = proc.lines.length;
    proc.child.kill('SIGHUP');
    const reloaded = await proc.waitForLine(msg('config reloaded'), { since });
    expect(reloaded['applied']).toEqual(['log_level']);
    const restart = await proc.waitForLine(msg('restart required'), { since });
    expect(restart['keys']).toEqual(['listen']);
    expect(restart['msg']).toBe('restart required for listen');

    since = proc.lines.length;
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.lines.slice(since).map((l) => l['msg'])).toEqual(expect.arrayContaining(['stopping', 'stopped']));
    expect(proc.stderr()).toBe('');
  });

  it('target: SIGHUP applies install.policy live and reports restart-only keys', async () => {
    const file = join(h.dir, 'target.toml');
    const body = (policy: string, host: string) =>
      `host = "${host}"\nroot = ${JSON.stringify(h.dir)}\nstate_dir = ${JSON.stringify(join(h.dir, 'tstate'))}\n[install]\npolicy = "${policy}"\n`;
    // Port 1 on loopback: nothing listens, so the agent runs and keeps retrying in the background.
    await writeFile(file, body('auto', 'localhost:1') + (await tlsBlock('target', 'alpha')));
    proc = spawnAgent(AGENT_MAIN.target, ['--config', file]);
    await proc.waitForLine(msg('started'));

    await writeFile(file, body('sometimes', 'localhost:1') + (await tlsBlock('target', 'alpha')));
    let since = proc.lines.length;
    proc.child.kill('SIGHUP');
    const failed = await proc.waitForLine(msg('config reload failed'), { since });
    expect(failed['msg']).toContain(`${file}: install.policy: expected one of auto, confirm, off, got "sometimes"`);

    await writeFile(file, body('confirm', 'localhost:2') + (await tlsBlock('target', 'alpha')));
    since = proc.lines.length;
    proc.child.kill('SIGHUP');
    expect((await proc.waitForLine(msg('config reloaded'), { since }))['applied']).toEqual(['install.policy']);
    expect((await proc.waitForLine(msg('restart required'), { since }))['keys']).toEqual(['host']);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('host: an unknown key exits 78 with one stderr line naming the file and the key', async () => {
    const file = await hostConfig('lisen = "0.0.0.0:7453"');
    proc = spawnAgent(AGENT_MAIN.host, ['--config', file]);
    expect(await proc.exited).toBe(78);
    expect(proc.stderr()).toBe(`binhost-host: configuration error: ${file}: lisen: unknown key\n`);
  });

  it('host: a missing private key exits 78 naming tls.key, both at start and with --check-config', async () => {
    const file = join(h.dir, 'host.toml');
    const f = await h.pki.files('host', 'host');
    const missing = join(h.dir, 'nope.key');
    await writeFile(file, `listen = "127.0.0.1:0"\nstate_dir = ${JSON.stringify(join(h.dir, 'state'))}\n[tls]\nca = ${JSON.stringify(f.ca)}\ncert = ${JSON.stringify(f.cert)}\nkey = ${JSON.stringify(missing)}\n`);
    for (const args of [['--config', file], ['--config', file, '--check-config']]) {
      proc = spawnAgent(AGENT_MAIN.host, args);
      expect(await proc.exited).toBe(78);
      expect(proc.stderr()).toBe(`binhost-host: configuration error: ${file}: tls.key: cannot read ${missing}: file not found\n`);
    }
  });

  it('host: a certificate that is not PEM, or a target certificate, exits 78 naming tls.cert, both at start and with --check-config', async () => {
    const file = join(h.dir, 'host.toml');
    const f = await h.pki.files('target', 'alpha');
    const notPem = join(h.dir, 'not.pem');
    await writeFile(notPem, 'hello\n');
    const top = `listen = "127.0.0.1:0"\nstate_dir = ${JSON.stringify(join(h.dir, 'state'))}\n[tls]\nca = ${JSON.stringify(f.ca)}\nkey = ${JSON.stringify(f.key)}\n`;
    for (const [cert, why] of [
      [notPem, `${notPem} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`],
      [f.cert, `${f.cert} is a target certificate; the host agent needs a host certificate (binhostctl pki issue host NAME)`],
    ] as const) {
      await writeFile(file, `${top}cert = ${JSON.stringify(cert)}\n`);
      for (const args of [['--config', file], ['--config', file, '--check-config']]) {
        proc = spawnAgent(AGENT_MAIN.host, args);
        expect(await proc.exited).toBe(78);
        expect(proc.stderr()).toBe(`binhost-host: configuration error: ${file}: tls.cert: ${why}\n`);
      }
    }
  });

  it('target: a host certificate exits 78 naming tls.cert and both roles', async () => {
    const file = join(h.dir, 'target.toml');
    const f = await h.pki.files('host', 'host');
    await writeFile(file, `host = "127.0.0.1:1"\n${await tlsBlock('host', 'host')}`);
    for (const args of [['--config', file], ['--config', file, '--check-config']]) {
      proc = spawnAgent(AGENT_MAIN.target, args);
      expect(await proc.exited).toBe(78);
      expect(proc.stderr()).toBe(`binhost-target: configuration error: ${file}: tls.cert: ${f.cert} is a host certificate; the target agent needs a target certificate (binhostctl pki issue target NAME)\n`);
    }
  });

  it('a port already in use names the key and the address, for the host (listen) and the target (install.mirror_port); exit 1, retried by systemd', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const file = join(h.dir, 'host.toml');
      await writeFile(file, `listen = "127.0.0.1:${port}"\nstate_dir = ${JSON.stringify(join(h.dir, 'state'))}\n${await tlsBlock('host', 'host')}`);
      proc = spawnAgent(AGENT_MAIN.host, ['--config', file]);
      expect(await proc.exited).toBe(1);
      expect(proc.stderr()).toBe(`binhost-host: ${file}: listen: 127.0.0.1:${port} is already in use (EADDRINUSE)\n`);

      const target = join(h.dir, 'target.toml');
      const top = `host = "127.0.0.1:1"\nroot = ${JSON.stringify(h.dir)}\nstate_dir = ${JSON.stringify(join(h.dir, 'target-state'))}\n`;
      await writeFile(target, `${top}${await tlsBlock('target', 'alpha')}[install]\nmirror_port = ${port}\n`);
      proc = spawnAgent(AGENT_MAIN.target, ['--config', target]);
      expect(await proc.exited).toBe(1);
      expect(proc.stderr()).toBe(`binhost-target: ${target}: install.mirror_port: 127.0.0.1:${port} is already in use (EADDRINUSE)\n`);
      await expect(access(join(h.dir, 'target-state', 'target.lock'))).rejects.toThrow(/ENOENT/); // released
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it('target: a missing required host exits 78; --check-config accepts a good file with exit 0', async () => {
    const file = join(h.dir, 'target.toml');
    await writeFile(file, await tlsBlock('target', 'alpha'));
    proc = spawnAgent(AGENT_MAIN.target, ['--config', file]);
    expect(await proc.exited).toBe(78);
    expect(proc.stderr()).toBe(`binhost-target: configuration error: ${file}: host: missing (required)\n`);

    await writeFile(file, `host = "binhost.lan:7453"\n${await tlsBlock('target', 'alpha')}`);
    proc = spawnAgent(AGENT_MAIN.target, ['--config', file, '--check-config']);
    expect(await proc.exited).toBe(0);
    expect(proc.stderr()).toBe('');
    expect(proc.lines).toEqual([{ text: `${file}: ok` }]);
  });
});
