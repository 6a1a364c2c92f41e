import type { Logger } from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import { SigningKeys } from './signing-keys.js';

/** Options for {@link RootSigningKeys}. */
export interface RootSigningKeysOptions {
  layout: HostLayout;
  /** `config.signing.gpg` */
  gpg: string;
  /** `config.signing.enabled` */
  enabled: boolean;
  log: Logger;
}

/**
 * One signing key per root. A build runs the target's config, so it can read the key it signs
 * with (it is in its sandbox); with a key per root, what a hostile target's build signs is
 * trusted only by the targets of that same root (targets that share a root share its key), and
 * never by another root's targets, whose keyrings trust only their own root's key. Each key is
 * made on first use, in `keys/<root>/` (HostLayout).
 */
export class RootSigningKeys {
  private readonly byRoot = new Map<string, SigningKeys>();

  constructor(private readonly options: RootSigningKeysOptions) {}

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** The keys of `root` (made on first `ensure()`). */
  of(root: string): SigningKeys {
    let keys = this.byRoot.get(root);
    if (!keys) {
      const { layout, gpg, enabled, log } = this.options;
      keys = new SigningKeys({ dir: layout.signingDir(root), verifyDir: layout.verifyKeyringDir(root), gpg, enabled, root, log: log.child({ root }) });
      this.byRoot.set(root, keys);
    }
    return keys;
  }

  /** Forgets a root whose keys were deleted (`target remove --purge`), after stopping its agent. */
  async forget(root: string): Promise<void> {
    await this.byRoot.get(root)?.close();
    this.byRoot.delete(root);
  }

  /** Stops the gpg-agents of every root's keyring. */
  async close(): Promise<void> {
    await Promise.all([...this.byRoot.values()].map((k) => k.close()));
  }
}
