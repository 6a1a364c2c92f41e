import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { FailedPreconditionError, openKeyringToPortage, startCommand, type Logger, type SigningKey } from '@binhost/shared';
import { Gpg } from './gpg.js';

/** Options for {@link SigningKeys}. */
export interface SigningKeysOptions {
  /** `HostLayout.signingDir()`: the signing keyring (a GnuPG home, mode 0700). */
  dir: string;
  /**
   * `HostLayout.verifyKeyringDir()`: the public key, ultimately trusted, for Portage's
   * verification right after signing. Not inside `dir`: Portage verifies as `nobody`, who
   * cannot enter a 0700 home.
   */
  verifyDir: string;
  /** `config.signing.gpg` @default 'gpg' */
  gpg: string;
  /** `config.signing.enabled` */
  enabled: boolean;
  log: Logger;
  /** Goes into the new key's user id. @default os.hostname() */
  hostname?: string;
  /** The root whose builds the key signs, named in the key's user id. */
  root?: string;
}

/**
 * The host's OpenPGP key for signing binary packages (Portage ≥ 3.0.78 refuses unsigned gpkgs by
 * default). The key of a root lives in `<state_dir>/keys/<root>/secret/`; when that home already holds a signing
 * secret key (an admin imported one: "given"), it is used, otherwise an ed25519 key without a
 * passphrase is made. Beside it, `keys/<root>/verify/` is a keyring holding only the public key,
 * ultimately trusted: Portage verifies each package right after signing it and needs a keyring
 * that trusts the key (transcripts/signed-build-without-binhost-keyring.txt), readable by
 * `nobody` (see openKeyringToPortage).
 */
export class SigningKeys {
  private current: SigningKey | undefined;
  private pending: Promise<SigningKey> | undefined;
  private readonly gpg: Gpg;

  constructor(private readonly options: SigningKeysOptions) {
    this.gpg = new Gpg(options.gpg, options.dir);
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** The signing keyring (BINPKG_GPG_SIGNING_GPG_HOME). */
  get homeDir(): string {
    return this.options.dir;
  }

  /** The verification keyring Portage uses in the roots (BINPKG_GPG_VERIFY_GPG_HOME). */
  get verifyHome(): string {
    return this.options.verifyDir;
  }

  /** Creates (once) or finds the key and the verification keyring; cached afterwards. */
  ensure(): Promise<SigningKey> {
    if (!this.options.enabled) return Promise.reject(new FailedPreconditionError('package signing is off (signing.enabled = false in the host config)'));
    if (this.current) return Promise.resolve(this.current);
    this.pending ??= this.setUp().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** The key if it has been set up. */
  key(): SigningKey | undefined {
    return this.current;
  }

  /**
   * Stops the gpg-agent gpg started for the keyrings (best effort); the next signing starts a
   * new one.
   */
  async close(): Promise<void> {
    // A key still being made would write into the home after we return.
    await this.pending?.catch(() => undefined);
    if (!this.current) return;
    for (const home of [this.options.dir, this.verifyHome]) {
      await startCommand({ file: 'gpgconf', args: ['--homedir', home, '--kill', 'all'], check: false, tailLines: 1 }).ended;
      await agentGone(home);
    }
  }

  private async setUp(): Promise<SigningKey> {
    const { dir, log } = this.options;
    // keys/<root>/ holds the secret home and the verify keyring nobody must reach: search only
    await mkdir(dirname(dir), { recursive: true, mode: 0o711 });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700); // gpg warns about (and Portage refuses) group/world-readable homes
    let [fingerprint] = await this.gpg.signingFingerprints();
    if (!fingerprint) {
      const what = this.options.root ? `binhost signing key of root ${this.options.root}` : 'binhost signing key';
      const uid = `${what} <binhost@${this.options.hostname ?? hostname()}>`;
      await this.gpg.run(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
      [fingerprint] = await this.gpg.signingFingerprints();
      if (!fingerprint) throw new FailedPreconditionError(`gpg made no signing key in ${dir}`);
      log.info({ fingerprint }, 'signing key created');
    }
    const armoredPublicKey = await this.gpg.run(['--armor', '--export', fingerprint]);
    await this.trustInVerifyKeyring(fingerprint, armoredPublicKey);
    this.current = { fingerprint, armoredPublicKey };
    return this.current;
  }

  private async trustInVerifyKeyring(fingerprint: string, armored: string): Promise<void> {
    const home = this.verifyHome;
    await mkdir(home, { recursive: true, mode: 0o755 });
    const keyFile = join(this.options.dir, 'public.asc');
    const trustFile = join(this.options.dir, 'ownertrust.txt');
    await writeFile(keyFile, armored);
    await writeFile(trustFile, `${fingerprint}:6:\n`);
    const verify = new Gpg(this.options.gpg, home);
    // Public keys only: no gpg-agent is needed (or left running) for this keyring.
    await verify.run(['--no-autostart', '--import', keyFile]);
    await verify.run(['--no-autostart', '--import-ownertrust', trustFile]);
    // Portage's verify command has --no-auto-check-trustdb: a stale trustdb says TRUST_UNDEFINED
    await verify.run(['--no-autostart', '--check-trustdb']);
    await openKeyringToPortage(home);
  }
}

/**
 * Waits (up to 2 s) until the agent has removed its sockets from `home`: `gpgconf --kill` returns
 * before the agent has exited, and a caller removing the directory would race it.
 */
async function agentGone(home: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const names = await readdir(home).catch(() => [] as string[]);
    if (!names.some((n) => n.startsWith('S.gpg-agent'))) return;
    await delay(50);
  }
}
