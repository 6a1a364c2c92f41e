import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueCertificate, type CertifiedKey } from '../pki/certificates.js';
import { ConfigError } from '../errors.js';
import { readTlsFiles, type TlsFiles } from './tls-files.js';

describe('readTlsFiles checks the PEM material and the certificate role', () => {
  let ca: CertifiedKey;
  let host: CertifiedKey;
  let target: CertifiedKey;
  let dir: string;
  let files: TlsFiles;
  const configFile = '/etc/binhost/host.toml';

  beforeAll(async () => {
    ca = await createCa();
    host = await issueCertificate({ ca, role: 'host', name: 'binhost' });
    target = await issueCertificate({ ca, role: 'target', name: 'alpha' });
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhost-tls-'));
    files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'cert.key') };
    await write(ca.certPem, host.certPem, host.keyPem);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(caPem: string, certPem: string, keyPem: string): Promise<void> {
    await writeFile(files.ca, caPem);
    await writeFile(files.cert, certPem);
    await writeFile(files.key, keyPem, { mode: 0o600 });
  }

  async function messageOf(p: Promise<unknown>): Promise<string> {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }

  it('accepts a matching host certificate and key for the host role', async () => {
    await expect(readTlsFiles(files, configFile, 'host')).resolves.toBeDefined();
  });

  it('names tls.cert when the certificate is not PEM', async () => {
    await write(ca.certPem, 'not a certificate\n', host.keyPem);
    expect(await messageOf(readTlsFiles(files, configFile, 'host'))).toBe(
      `${configFile}: tls.cert: ${files.cert} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`,
    );
  });

  it('names tls.ca when the CA file is not PEM', async () => {
    await write('garbage', host.certPem, host.keyPem);
    expect(await messageOf(readTlsFiles(files, configFile, 'host'))).toMatch(new RegExp(`^${configFile}: tls\\.ca: ${files.ca} is not a PEM certificate`));
  });

  it('names tls.key when the key is not PEM or is not the certificate\'s', async () => {
    await write(ca.certPem, host.certPem, 'garbage');
    expect(await messageOf(readTlsFiles(files, configFile, 'host'))).toMatch(new RegExp(`^${configFile}: tls\\.key: ${files.key} is not a PEM private key`));
    await write(ca.certPem, host.certPem, target.keyPem);
    expect(await messageOf(readTlsFiles(files, configFile, 'host'))).toBe(
      `${configFile}: tls.key: ${files.key} is not the private key of the certificate ${files.cert} (tls.cert)`,
    );
  });

  it('names tls.cert, the role it has and the one needed, for a certificate of another role', async () => {
    await write(ca.certPem, target.certPem, target.keyPem);
    expect(await messageOf(readTlsFiles(files, configFile, 'host'))).toBe(
      `${configFile}: tls.cert: ${files.cert} is a target certificate; the host agent needs a host certificate (binhostctl pki issue host NAME)`,
    );
    await expect(readTlsFiles(files, configFile, 'target')).resolves.toBeDefined();
    // the CA's own certificate has no role
    await write(ca.certPem, ca.certPem, ca.keyPem);
    expect(await messageOf(readTlsFiles(files, configFile, 'target'))).toMatch(/tls\.cert: .* is not a binhost certificate .*; the target agent needs a target certificate$/);
  });
});
