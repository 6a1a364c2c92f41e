import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHostConfig, HOST_DEFAULTS } from './host-config.js';
import { loadTargetConfig } from './target-config.js';
import { readTlsFiles } from '../grpc/tls-files.js';
import { ConfigError } from '../errors.js';

describe('host and target config files', () => {
  let dir: string;
  const tlsBlock = '[tls]\nca = "ca.pem"\ncert = "host.pem"\nkey = "host.key"\n';

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhost-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, text: string): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, text);
    return file;
  }

  async function errorOf(p: Promise<unknown>): Promise<ConfigError> {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }

  it('fills in defaults for everything but the certificates and resolves paths against the file', async () => {
    const config = await loadHostConfig(await write('host.toml', tlsBlock));
    expect(config.listen).toBe(HOST_DEFAULTS.listen);
    expect(config.stateDir).toBe('/var/lib/binhost');
    expect(config.build.emerge).toEqual(['emerge']);
    expect(config.build.autoArgs).toEqual(['--update', '--deep', '--newuse', '--changed-deps=y', '--with-bdeps=y', '--usepkg=y', '@world']);
    expect(config.tls.cert).toBe(join(dir, 'host.pem'));
  });

  it('rejects an unknown key, naming the file and the key path', async () => {
    const file = await write('host.toml', `lisen = "0.0.0.0:7453"\n${tlsBlock}`);
    const err = await errorOf(loadHostConfig(file));
    expect(err.message).toBe(`${file}: lisen: unknown key`);
  });

  it('rejects an unknown key inside a table', async () => {
    const file = await write('host.toml', `${tlsBlock}[build]\nemerge_path = "/usr/bin/emerge"\n`);
    expect((await errorOf(loadHostConfig(file))).message).toBe(`${file}: build.emerge_path: unknown key`);
  });

  it('rejects a wrong type with what was expected', async () => {
    const file = await write('host.toml', `${tlsBlock}[build]\ncancel_grace_seconds = "30"\n`);
    expect((await errorOf(loadHostConfig(file))).message).toBe(`${file}: build.cancel_grace_seconds: expected integer, got string`);
  });

  it('rejects a missing required key', async () => {
    const file = await write('host.toml', '[tls]\nca = "ca.pem"\ncert = "c.pem"\n');
    expect((await errorOf(loadHostConfig(file))).message).toBe(`${file}: tls.key: missing (required)`);
  });

  it('names a missing config file', async () => {
    const file = join(dir, 'nope.toml');
    expect((await errorOf(loadHostConfig(file))).message).toBe(`${file}: cannot read config: file not found`);
  });

  it('reports TOML syntax errors with the line', async () => {
    const file = await write('host.toml', 'listen = \n');
    expect((await errorOf(loadHostConfig(file))).message).toMatch(new RegExp(`^${file}: TOML syntax error at line 1`));
  });

  it('requires host in the target config and checks its form', async () => {
    const file = await write('target.toml', `host = "no-port"\n${tlsBlock}`);
    expect((await errorOf(loadTargetConfig(file))).message).toBe(`${file}: host: expected "name:port", got "no-port"`);
    const ok = await loadTargetConfig(await write('t2.toml', `host = "binhost.lan:7453"\n${tlsBlock}`));
    expect(ok.serverName).toBe('binhost.lan');
    expect(ok.install.policy).toBe('auto');
  });

  it('names a missing certificate file by its config key', async () => {
    const file = await write('host.toml', tlsBlock);
    const config = await loadHostConfig(file);
    const err = await errorOf(readTlsFiles(config.tls, file));
    expect(err.message).toBe(`${file}: tls.ca: cannot read ${join(dir, 'ca.pem')}: file not found`);
  });

  it('refuses a private key readable by group or others, saying which', async () => {
    const file = await write('host.toml', tlsBlock);
    for (const f of ['ca.pem', 'host.pem', 'host.key']) await write(f, 'x');
    await chmod(join(dir, 'host.key'), 0o644);
    const config = await loadHostConfig(file);
    const err = await errorOf(readTlsFiles(config.tls, file));
    expect(err.message).toContain('tls.key');
    expect(err.message).toContain('readable by group and others (mode 0644)');
    await chmod(join(dir, 'host.key'), 0o640);
    expect((await errorOf(readTlsFiles(config.tls, file))).message).toContain('host.key is readable by group (mode 0640)');
    await chmod(join(dir, 'host.key'), 0o604);
    expect((await errorOf(readTlsFiles(config.tls, file))).message).toContain('host.key is readable by others (mode 0604)');
    await chmod(join(dir, 'host.key'), 0o600);
    await expect(readTlsFiles(config.tls, file)).resolves.toBeDefined();
  });
});
