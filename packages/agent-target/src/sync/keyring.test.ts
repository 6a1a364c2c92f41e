import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

describe('installSigningKey', () => {
  let dir: string;
  const homes: string[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyring-'));
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
    const signer = await makeSigner(signerHome);
    await installSigningKey({ root, key: { armoredPublicKey: signer.armoredPublicKey, fingerprint: signer.fingerprint }, runner: spawnRunner });
    const payload = join(dir, 'payload');
    await writeFile(payload, 'binpkg bytes');
    expect((await signer.gpg('--detach-sign', '--output', `${payload}.sig`, payload)).exitCode).toBe(0);
    // what Portage does: gpg --verify with a status fd, accepting only full or ultimate trust
    const verify = await spawnRunner.run({
      argv: ['gpg', '--homedir', join(root, 'etc/portage/gnupg'), '--batch', '--status-fd', '1', '--verify', `${payload}.sig`, payload],
    });
    expect(verify.exitCode).toBe(0);
    expect(verify.tail.some((l) => l.startsWith('[GNUPG:] TRUST_ULTIMATE'))).toBe(true);
    // importing again (start, key_rotated) is harmless
    await installSigningKey({ root, key: { armoredPublicKey: signer.armoredPublicKey, fingerprint: signer.fingerprint }, runner: spawnRunner });
    await writeFile(payload, 'tampered');
    const bad = await spawnRunner.run({ argv: ['gpg', '--homedir', join(root, 'etc/portage/gnupg'), '--batch', '--status-fd', '1', '--verify', `${payload}.sig`, payload] });
    expect(bad.tail.some((l) => l.startsWith('[GNUPG:] BADSIG'))).toBe(true);
    expect(await readFile(payload, 'utf8')).toBe('tampered');
  });

  it('refuses a malformed fingerprint before running gpg', async () => {
    await expect(installSigningKey({ root: join(dir, 'r2'), key: { armoredPublicKey: 'x', fingerprint: 'nope' }, runner: spawnRunner })).rejects.toThrow(
      /malformed key fingerprint "nope"/,
    );
  });
});
