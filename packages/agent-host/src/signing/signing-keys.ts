import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { FailedPreconditionError, type Logger, type SigningKey } from '@binhost/shared';
import { Gpg } from './gpg.js';

/** Options for {@link SigningKeys}. */
export interface SigningKeysOptions {
  /** `HostLayout.signingDir()`: the signing keyring (a GnuPG home, mode 0700). */
  dir: string;
  /** `config.signing.gpg` @default 'gpg' */
  gpg: string;
  /** `config.signing.enabled` */
  enabled: boolean;
  log: Logger;
  /** Goes into the new key's user id. @default os.hostname() */
  hostname?: string;
}

/**
 * The host's OpenPGP key for signing binary packages (Portage ≥ 3.0.78 refuses unsigned gpkgs by
 * default). The key lives in `<state_dir>/signing/`; when that home already holds a signing
 * secret key (an admin imported one: "given"), it is used, otherwise an ed25519 key without a
 * passphrase is made. Beside it, `signing/verify/` is a keyring holding only the public key,
 * ultimately trusted: Portage verifies each package right after signing it and needs a keyring
 * that trusts the key (transcripts/signed-build-without-binhost-keyring.txt).
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
    return join(this.options.dir, 'verify');
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
    if (!this.current) return;
    for (const home of [this.options.dir, this.verifyHome]) {
      await new Promise<void>((resolve) => execFile('gpgconf', ['--homedir', home, '--kill', 'all'], () => resolve()));
    }
  }

  private async setUp(): Promise<SigningKey> {
    const { dir, log } = this.options;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700); // gpg warns about (and Portage refuses) group/world-readable homes
    let [fingerprint] = await this.gpg.signingFingerprints();
    if (!fingerprint) {
      const uid = `binhost signing key <binhost@${this.options.hostname ?? hostname()}>`;
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
    await mkdir(home, { recursive: true, mode: 0o700 });
    await chmod(home, 0o700);
    const keyFile = join(this.options.dir, 'public.asc');
    const trustFile = join(this.options.dir, 'ownertrust.txt');
    await writeFile(keyFile, armored);
    await writeFile(trustFile, `${fingerprint}:6:\n`);
    const verify = new Gpg(this.options.gpg, home);
    await verify.run(['--import', keyFile]);
    await verify.run(['--import-ownertrust', trustFile]);
    await verify.run(['--check-trustdb']);
  }
}
