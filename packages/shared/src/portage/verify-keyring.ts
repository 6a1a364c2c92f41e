import { chmod, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AgentError, errnoCode } from '../errors.js';

/** The files of a GnuPG home that `gpg --verify` reads. */
const READ_BY_VERIFY = ['pubring.kbx', 'trustdb.gpg'] as const;

/**
 * Makes a keyring Portage verifies binary packages with usable by the user Portage verifies as.
 * Run as root, Portage drops gpg to `nobody:nogroup` for `--verify` (GPG_VERIFY_USER_DROP, even
 * with FEATURES=-userpriv), so the home must be 0755 and its pubring.kbx and trustdb.gpg 0644,
 * as getuto makes /etc/portage/gnupg; with a 0700 home gpg reports NO_PUBKEY and every package is
 * refused. Permission bits are only ever added, never removed: a keyring an admin or getuto made
 * is not tightened. Throws when a parent directory keeps `nobody` out, naming it.
 */
export async function openKeyringToPortage(home: string): Promise<void> {
  await addModeBits(home, 0o755);
  for (const name of READ_BY_VERIFY) await addModeBits(join(home, name), 0o644);
  for (let dir = dirname(home); ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      throw new AgentError(
        `Portage verifies binary packages as user nobody, who cannot enter ${dir} (mode ${(mode & 0o7777).toString(8).padStart(4, '0')}) ` +
          `on the way to the keyring ${home}: chmod o+x ${dir}`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}

async function addModeBits(path: string, bits: number): Promise<void> {
  try {
    const { mode } = await stat(path);
    if ((mode & bits) !== bits) await chmod(path, (mode & 0o7777) | bits);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
