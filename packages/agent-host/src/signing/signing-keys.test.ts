import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@binhost/shared';
import { SigningKeys } from './signing-keys.js';
import { signingEnv } from './signing-env.js';

function gpg(home: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile('gpg', ['--batch', '--no-tty', '--homedir', home, ...args], (err, _out, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
    ),
  );
}

describe('SigningKeys', () => {
  let dir: string;
  const opened: SigningKeys[] = [];
  const make = (enabled = true) => {
    const k = new SigningKeys({ dir: join(dir, 'signing'), gpg: 'gpg', enabled, log: silentLogger(), hostname: 'buildbox' });
    opened.push(k);
    return k;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'signing-'));
  });
  afterEach(async () => {
    for (const k of opened.splice(0)) await k.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates an ed25519 key in a 0700 home once, then reuses it', async () => {
    const keys = make();
    const key = await keys.ensure();
    expect(key.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    expect(key.armoredPublicKey).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect((await stat(join(dir, 'signing'))).mode & 0o777).toBe(0o700);
    const again = await make().ensure();
    expect(again.fingerprint).toBe(key.fingerprint);
  });

  it('signs with the signing home and verifies as ultimately trusted with the verify keyring only', async () => {
    const keys = make();
    const key = await keys.ensure();
    const file = join(dir, 'payload');
    await writeFile(file, 'package bytes');
    expect((await gpg(keys.homeDir, ['--local-user', key.fingerprint, '--armor', '--detach-sign', file])).code).toBe(0);
    const verified = await gpg(keys.verifyHome, ['--status-fd', '2', '--verify', `${file}.asc`, file]);
    expect(verified.code).toBe(0);
    expect(verified.stderr).toContain('[GNUPG:] GOODSIG');
    expect(verified.stderr).toContain('[GNUPG:] TRUST_ULTIMATE');
    const secret = await gpg(keys.verifyHome, ['--list-secret-keys', key.fingerprint]);
    expect(secret.code).not.toBe(0); // the verify keyring holds no secret key
  });

  it('gives emerge the binpkg-signing settings, or nothing when signing is off', async () => {
    const keys = make();
    const env = await signingEnv(keys);
    expect(env).toEqual({
      FEATURES: 'binpkg-signing',
      BINPKG_FORMAT: 'gpkg',
      BINPKG_GPG_SIGNING_GPG_HOME: keys.homeDir,
      BINPKG_GPG_SIGNING_KEY: keys.key()?.fingerprint,
      BINPKG_GPG_VERIFY_GPG_HOME: keys.verifyHome,
    });
    const off = make(false);
    expect(await signingEnv(off)).toEqual({});
    await expect(off.ensure()).rejects.toThrow('package signing is off (signing.enabled = false in the host config)');
  });

  it('names the config key when gpg is missing', async () => {
    const keys = new SigningKeys({ dir: join(dir, 's2'), gpg: join(dir, 'no-gpg'), enabled: true, log: silentLogger() });
    await expect(keys.ensure()).rejects.toThrow(/no-gpg" not found \(set signing\.gpg in the host config/);
  });
});
