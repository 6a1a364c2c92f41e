import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@binhost/shared';
import { SigningKeys } from './signing-keys.js';
import { signingEnv } from './signing-env.js';

/** nobody:nogroup on Debian and Gentoo: who Portage, run as root, verifies packages as. */
const NOBODY = { uid: 65534, gid: 65534 };

function gpg(home: string, args: string[], as: { uid?: number; gid?: number } = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile('gpg', ['--batch', '--no-tty', '--homedir', home, ...args], { ...as, env: { ...process.env, HOME: '/nonexistent' } }, (err, _out, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
    ),
  );
}

describe('SigningKeys', () => {
  let dir: string;
  const opened: SigningKeys[] = [];
  const make = (enabled = true) => {
    const k = new SigningKeys({ dir: join(dir, 'signing'), verifyDir: join(dir, 'signing-verify'), gpg: 'gpg', enabled, log: silentLogger(), hostname: 'buildbox' });
    opened.push(k);
    return k;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'signing-'));
    await chmod(dir, 0o755); // like /var/lib/binhost: nobody may pass through
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

  it('signs with the signing home; nobody verifies it as ultimately trusted with the verify keyring only, as Portage does', async () => {
    const keys = make();
    const key = await keys.ensure();
    const file = join(dir, 'payload');
    await writeFile(file, 'package bytes', { mode: 0o644 });
    expect((await gpg(keys.homeDir, ['--local-user', key.fingerprint, '--armor', '--detach-sign', file])).code).toBe(0);
    await chmod(`${file}.asc`, 0o644);
    expect((await stat(keys.verifyHome)).mode & 0o777).toBe(0o755);
    expect((await stat(join(keys.verifyHome, 'pubring.kbx'))).mode & 0o777).toBe(0o644);
    expect((await stat(join(keys.verifyHome, 'trustdb.gpg'))).mode & 0o777).toBe(0o644);
    // Portage's verify command: read-only keyring, no trustdb check of its own
    const verified = await gpg(keys.verifyHome, ['--no-auto-check-trustdb', '--no-autostart', '--status-fd', '2', '--verify', `${file}.asc`, file], NOBODY);
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

  it('refuses a state dir that keeps nobody out, naming the directory', async () => {
    await chmod(dir, 0o700);
    await expect(make().ensure()).rejects.toThrow(`who cannot enter ${dir} (mode 0700) on the way to the keyring ${join(dir, 'signing-verify')}: chmod o+x ${dir}`);
  });

  it('names the config key when gpg is missing', async () => {
    const keys = new SigningKeys({ dir: join(dir, 's2'), verifyDir: join(dir, 's2-verify'), gpg: join(dir, 'no-gpg'), enabled: true, log: silentLogger() });
    await expect(keys.ensure()).rejects.toThrow(/no-gpg" not found \(set signing\.gpg in the host config/);
  });
});
