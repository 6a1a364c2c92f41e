import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHostConfig, HOST_DEFAULTS } from './host-config.js';
import { loadTargetConfig } from './target-config.js';
import { readTlsFiles } from '../grpc/tls-files.js';
import { ConfigError } from '../errors.js';
import { createCa, issueCertificate } from '../pki/certificates.js';

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
    expect((await errorOf(loadTargetConfig(file))).message).toBe(`${file}: host: expected "name:port" with a port from 1 to 65535, got "no-port"`);
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
    const ca = await createCa();
    const host = await issueCertificate({ ca, role: 'host', name: 'binhost' });
    await write('ca.pem', ca.certPem);
    await write('host.pem', host.certPem);
    await write('host.key', host.keyPem);
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

  it('refuses a listen port above 65535, or a host port outside 1-65535, at load', async () => {
    for (const port of ['99999', '65536']) {
      const file = await write('host.toml', `listen = "127.0.0.1:${port}"\n${tlsBlock}`);
      expect((await errorOf(loadHostConfig(file))).message).toBe(`${file}: listen: expected "address:port" with a port from 0 to 65535, got "127.0.0.1:${port}"`);
    }
    for (const port of ['0', '65535']) await loadHostConfig(await write('host.toml', `listen = "127.0.0.1:${port}"\n${tlsBlock}`));
    const zero = await write('target.toml', `host = "binhost.lan:0"\n${tlsBlock}`);
    expect((await errorOf(loadTargetConfig(zero))).message).toContain('host: expected "name:port" with a port from 1 to 65535');
    const file = await write('target.toml', `host = "binhost.lan:70000"\n${tlsBlock}`);
    expect((await errorOf(loadTargetConfig(file))).message).toBe(`${file}: host: expected "name:port" with a port from 1 to 65535, got "binhost.lan:70000"`);
  });

  it('refuses a state_dir under /proc, /sys or /dev', async () => {
    for (const dirPath of ['/proc/binhost', '/sys/x', '/dev']) {
      const file = await write('host.toml', `state_dir = "${dirPath}"\n${tlsBlock}`);
      expect((await errorOf(loadHostConfig(file))).message).toMatch(new RegExp(`^${file}: state_dir: ${dirPath} is under /\\w+, a kernel filesystem`));
    }
    const file = await write('target.toml', `host = "h:7453"\nstate_dir = "/proc/t"\n${tlsBlock}`);
    expect((await errorOf(loadTargetConfig(file))).message).toContain(`${file}: state_dir: /proc/t is under /proc`);
  });

  it('refuses an empty command array (build.emerge, retention.emaint, install.emerge)', async () => {
    for (const [table, key] of [['build', 'emerge'], ['retention', 'emaint']]) {
      const file = await write('host.toml', `${tlsBlock}[${table}]\n${key} = []\n`);
      expect((await errorOf(loadHostConfig(file))).message).toBe(`${file}: ${table}.${key}: expected a program and its arguments, got an empty array`);
    }
    const file = await write('target.toml', `host = "h:7453"\n${tlsBlock}[install]\nemerge = []\n`);
    expect((await errorOf(loadTargetConfig(file))).message).toBe(`${file}: install.emerge: expected a program and its arguments, got an empty array`);
  });

  it('names a misspelt required key as unknown rather than the required key as missing', async () => {
    const file = await write('target.toml', `hots = "binhost.lan:7453"\n${tlsBlock}`);
    expect((await errorOf(loadTargetConfig(file))).message).toBe(`${file}: hots: unknown key (did you mean "host"? host is required)`);
    const tls = await write('host.toml', '[tls]\nca = "ca.pem"\ncert = "c.pem"\nkye = "k.pem"\n');
    expect((await errorOf(loadHostConfig(tls))).message).toBe(`${tls}: tls.kye: unknown key (did you mean "key"? tls.key is required)`);
  });

  it('refuses a target root that does not exist or is not a directory; one without etc/portage is fine', async () => {
    const missing = join(dir, 'nonexistent', 'root');
    let file = await write('target.toml', `host = "h:7453"\nroot = ${JSON.stringify(missing)}\n${tlsBlock}`);
    expect((await errorOf(loadTargetConfig(file))).message).toBe(`${file}: root: ${missing} does not exist`);
    const plain = await write('plain', 'x');
    file = await write('target.toml', `host = "h:7453"\nroot = ${JSON.stringify(plain)}\n${tlsBlock}`);
    expect((await errorOf(loadTargetConfig(file))).message).toBe(`${file}: root: ${plain} is not a directory`);
    file = await write('target.toml', `host = "h:7453"\nroot = ${JSON.stringify(dir)}\n${tlsBlock}`);
    expect((await loadTargetConfig(file)).root).toBe(dir);
  });
});
