import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnRunner } from '../exec/command-runner.js';
import { installSigningKey } from './keyring.js';

/** A real throwaway signing key made with gpg, like the host's. */
async function makeSigner(home: string) {
  const gpg = (...args: string[]) => spawnRunner.run({ argv: ['gpg', '--homedir', home, '--batch', '--no-tty', ...args] });
  const made = await gpg('--passphrase', '', '--quick-gen-key', 'binhost test signer <signer@binhost.test>', 'ed25519', 'sign', 'never');
  if (made.exitCode !== 0) throw new Error(made.tail.join('\n'));
  const listing = await gpg('--with-colons', '--list-keys');
  const fingerprint = listing.tail.find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
  const armored = await gpg('--armor', '--export', fingerprint);
  return { gpg, fingerprint, armoredPublicKey: armored.tail.join('\n') + '\n' };
}

/** Portage's verification when run as root: gpg as nobody:nogroup, no trustdb check of its own. */
function verifyAsPortage(home: string, payload: string) {
  return spawnRunner.run({
    argv: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'gpg', '--homedir', home, '--batch', '--no-autostart', '--no-auto-check-trustdb', '--status-fd', '1', '--verify', `${payload}.sig`, payload],
    env: { ...process.env, HOME: '/nonexistent' },
  });
}

describe('installSigningKey', () => {
  let dir: string;
  const homes: string[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyring-'));
    await chmod(dir, 0o755);
  });
  afterAll(async () => {
    // key generation starts a gpg-agent per home dir: stop exactly those
    for (const home of homes) await spawnRunner.run({ argv: ['gpgconf', '--homedir', home, '--kill', 'gpg-agent'] });
    await rm(dir, { recursive: true, force: true });
  });

  it('makes signatures of the host key verify as trusted in <root>/etc/portage/gnupg', async () => {
    const signerHome = await mkdtemp(join(dir, 'signer-'));
    const root = join(dir, 'root');
    homes.push(signerHome, join(root, 'etc/portage/gnupg'));
    await mkdir(join(root, 'etc/portage'), { recursive: true });
    const signer = await makeSigner(signerHome);
    await installSigningKey({ root, key: { armoredPublicKey: signer.armoredPublicKey, fingerprint: signer.fingerprint }, runner: spawnRunner });
    const payload = join(dir, 'payload');
    await writeFile(payload, 'binpkg bytes');
    expect((await signer.gpg('--detach-sign', '--output', `${payload}.sig`, payload)).exitCode).toBe(0);
    await chmod(`${payload}.sig`, 0o644);
    const home = join(root, 'etc/portage/gnupg');
    expect((await stat(home)).mode & 0o777).toBe(0o755);
    for (const f of ['pubring.kbx', 'trustdb.gpg']) expect((await stat(join(home, f))).mode & 0o777).toBe(0o644);
    // what Portage run as root does: gpg --verify as nobody, no trustdb check of its own,
    // accepting only full or ultimate trust
    const verify = await verifyAsPortage(home, payload);
    expect(verify.exitCode).toBe(0);
    expect(verify.tail.some((l) => l.startsWith('[GNUPG:] TRUST_ULTIMATE'))).toBe(true);
    // no gpg-agent was started in Portage's keyring (only gpg's own files are there)
    expect((await readdir(join(root, 'etc/portage/gnupg'))).filter((f) => f.startsWith('S.'))).toEqual([]);
    // importing again (start, key_rotated) is harmless
    await installSigningKey({ root, key: { armoredPublicKey: signer.armoredPublicKey, fingerprint: signer.fingerprint }, runner: spawnRunner });
    await writeFile(payload, 'tampered');
    const bad = await spawnRunner.run({ argv: ['gpg', '--homedir', join(root, 'etc/portage/gnupg'), '--batch', '--status-fd', '1', '--verify', `${payload}.sig`, payload] });
    expect(bad.tail.some((l) => l.startsWith('[GNUPG:] BADSIG'))).toBe(true);
    expect(await readFile(payload, 'utf8')).toBe('tampered');
  });

  it("keeps another binrepo's trusted key, never tightens the keyring, and makes a deleted one again", async () => {
    const gentooHome = await mkdtemp(join(dir, 'gentoo-'));
    const oursHome = await mkdtemp(join(dir, 'ours-'));
    const root = join(dir, 'root3');
    const home = join(root, 'etc/portage/gnupg');
    homes.push(gentooHome, oursHome, home);
    const gentoo = await makeSigner(gentooHome);
    const ours = await makeSigner(oursHome);
    // the keyring as getuto leaves it: Gentoo's binhost key, trusted, 0755/0644 (plus a group bit the admin set)
    await mkdir(home, { recursive: true });
    const admin = (...args: string[]) => spawnRunner.run({ argv: ['gpg', '--homedir', home, '--batch', '--no-tty', '--no-autostart', ...args], input: args.includes('--import-ownertrust') ? `${gentoo.fingerprint}:6:\n` : gentoo.armoredPublicKey });
    await admin('--import');
    await admin('--import-ownertrust');
    await admin('--check-trustdb');
    await chmod(home, 0o775);
    for (const f of ['pubring.kbx', 'trustdb.gpg']) await chmod(join(home, f), 0o664);
    await installSigningKey({ root, key: ours, runner: spawnRunner });
    expect((await stat(home)).mode & 0o777).toBe(0o775);
    // gpg rewrites these two by rename, with its own modes; they stay readable by nobody
    for (const f of ['pubring.kbx', 'trustdb.gpg']) expect((await stat(join(home, f))).mode & 0o644).toBe(0o644);
    const payload = join(dir, 'payload3');
    await writeFile(payload, 'binpkg bytes', { mode: 0o644 });
    for (const signer of [gentoo, ours]) {
      expect((await signer.gpg('--yes', '--detach-sign', '--output', `${payload}.sig`, payload)).exitCode).toBe(0);
      await chmod(`${payload}.sig`, 0o644);
      const v = await verifyAsPortage(home, payload);
      expect(v.tail.filter((l) => /TRUST_(ULTIMATE|FULLY)/.test(l)), signer.fingerprint).toHaveLength(1);
    }
    // the admin deletes the keyring; the next import (before each sync) makes it again
    await rm(home, { recursive: true });
    await installSigningKey({ root, key: ours, runner: spawnRunner });
    expect((await verifyAsPortage(home, payload)).tail.some((l) => l.startsWith('[GNUPG:] TRUST_ULTIMATE'))).toBe(true);
  });

  it('refuses a malformed fingerprint before running gpg', async () => {
    await expect(installSigningKey({ root: join(dir, 'r2'), key: { armoredPublicKey: 'x', fingerprint: 'nope' }, runner: spawnRunner })).rejects.toThrow(
      /malformed key fingerprint "nope"/,
    );
  });
});
