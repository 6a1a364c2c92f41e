import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError, openKeyringToPortage, type SigningKey } from '@binhost/shared';
import type { ArgvRunner } from '../exec/command-runner.js';

/** Options for {@link installSigningKey}. */
export interface KeyringOptions {
  /** The target root: the keyring is `<root>/etc/portage/gnupg`, where Portage verifies binpkgs. */
  root: string;
  key: SigningKey;
  /**
   * The fingerprint of the host key imported before, if any: removed from the keyring when the
   * host now signs with another one (its root changed, or the key was rotated), so the keyring
   * trusts only the key of the root this target is served from. Keys of other binrepos are never
   * touched.
   */
  previous?: string;
  runner: ArgvRunner;
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
 * secret key on the target. Importing again is harmless, so this runs on every start, on
 * `key_rotated` and before every sync (a keyring deleted meanwhile is made again).
 *
 * The keyring is left as Portage needs it: the trustdb updated (`--check-trustdb`: Portage's
 * verify has `--no-auto-check-trustdb`, and a stale trustdb says TRUST_UNDEFINED), readable by
 * `nobody` (Portage verifies as nobody when run as root). Only our key's ownertrust is set; other
 * keys in the keyring (Gentoo's binhost key from getuto) keep theirs, and modes are only ever
 * widened to what Portage needs, never tightened.
 */
export async function installSigningKey(o: KeyringOptions): Promise<string> {
  const home = join(o.root, 'etc', 'portage', 'gnupg');
  const fingerprint = o.key.fingerprint.replace(/\s+/g, '').toUpperCase();
  if (!/^[0-9A-F]{40}$|^[0-9A-F]{64}$/.test(fingerprint)) throw new AgentError(`host sent a malformed key fingerprint "${o.key.fingerprint}"`);
  // Portage's config dir is the admin's: the agent adds to it, never creates it
  await access(join(o.root, 'etc', 'portage')).catch(() => {
    throw new AgentError(`${join(o.root, 'etc', 'portage')} does not exist; not creating Portage's keyring there`);
  });
  await mkdir(home, { recursive: true, mode: 0o755 });
  // --no-autostart: importing a public key needs no gpg-agent, and none is left running in Portage's keyring
  const gpg = [...(o.gpg ?? ['gpg']), '--homedir', home, '--batch', '--no-tty', '--quiet', '--no-autostart'];
  const run = async (args: string[], input: string, what: string) => {
    const r = await o.runner.run({ argv: [...gpg, ...args], input, ...(o.signal ? { signal: o.signal } : {}) });
    if (r.exitCode !== 0) throw new AgentError(`gpg ${what} into ${home} failed (exit ${r.exitCode}): ${r.tail.slice(-3).join(' / ')}`);
  };
  await run(['--import'], o.key.armoredPublicKey, 'import of the host signing key');
  await run(['--import-ownertrust'], `${fingerprint}:6:\n`, 'ownertrust');
  const previous = o.previous?.replace(/\s+/g, '').toUpperCase();
  if (previous && previous !== fingerprint && /^[0-9A-F]{40}$|^[0-9A-F]{64}$/.test(previous)) {
    const r = await o.runner.run({ argv: [...gpg, '--yes', '--delete-keys', previous], ...(o.signal ? { signal: o.signal } : {}) });
    // exit 2 with "not found": the admin removed it already
    if (r.exitCode !== 0 && !r.tail.some((l) => /not found/i.test(l))) throw new AgentError(`gpg --delete-keys ${previous} in ${home} failed (exit ${r.exitCode}): ${r.tail.slice(-3).join(' / ')}`);
  }
  await run(['--check-trustdb'], '', 'trustdb update');
  await openKeyringToPortage(home);
  return fingerprint;
}
