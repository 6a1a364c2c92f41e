import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError, type SigningKey } from '@binhost/shared';
import type { CommandRunner } from '../exec/command-runner.js';

/** Options for {@link installSigningKey}. */
export interface KeyringOptions {
  /** The target root: the keyring is `<root>/etc/portage/gnupg`, where Portage verifies binpkgs. */
  root: string;
  key: SigningKey;
  runner: CommandRunner;
  /** @default ['gpg'] */
  gpg?: readonly string[];
  signal?: AbortSignal;
}

/**
 * Puts the host's signing key into Portage's verification keyring, as getuto does for Gentoo's
 * keys: import the public key into `<root>/etc/portage/gnupg`, then make it trusted so gpg
 * reports TRUST_ULTIMATE for its signatures (Portage refuses `TRUST_UNDEFINED`, see
 * test/fixtures/portage/transcripts/refused-untrusted-key.txt). getuto certifies with a local
 * key it generates; ownertrust on the one key we import gives the same verdict with one less
 * secret key on the target. Importing again is harmless, so this runs on every start and on
 * `key_rotated`.
 */
export async function installSigningKey(o: KeyringOptions): Promise<string> {
  const home = join(o.root, 'etc', 'portage', 'gnupg');
  await mkdir(home, { recursive: true, mode: 0o700 });
  await chmod(home, 0o700);
  const fingerprint = o.key.fingerprint.replace(/\s+/g, '').toUpperCase();
  if (!/^[0-9A-F]{40}$|^[0-9A-F]{64}$/.test(fingerprint)) throw new AgentError(`host sent a malformed key fingerprint "${o.key.fingerprint}"`);
  const gpg = [...(o.gpg ?? ['gpg']), '--homedir', home, '--batch', '--no-tty', '--quiet'];
  const run = async (args: string[], input: string, what: string) => {
    const r = await o.runner.run({ argv: [...gpg, ...args], input, ...(o.signal ? { signal: o.signal } : {}) });
    if (r.exitCode !== 0) throw new AgentError(`gpg ${what} into ${home} failed (exit ${r.exitCode}): ${r.tail.slice(-3).join(' / ')}`);
  };
  await run(['--import'], o.key.armoredPublicKey, 'import of the host signing key');
  await run(['--import-ownertrust'], `${fingerprint}:6:\n`, 'ownertrust');
  return fingerprint;
}
