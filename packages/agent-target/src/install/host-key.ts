import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite, callUnary, errorMessage, type Logger, type SigningKey, type TargetServiceClient } from '@binhost/shared';
import type { ArgvRunner } from '../exec/command-runner.js';
import { installSigningKey } from './keyring.js';

/** Options for {@link HostKey}. */
export interface HostKeyOptions {
  /** The target root: Portage's keyring is `<root>/etc/portage/gnupg`. */
  root: string;
  /** The agent's state dir: `host-key.json` remembers which host key was imported last. */
  stateDir: string;
  runner: ArgvRunner;
  log: Logger;
  signal: AbortSignal;
}

/**
 * The host's signing key in Portage's verification keyring: the key of the root this target is
 * served from, asked for on connect, on `key_rotated` and before every sync. The key imported
 * before is removed when another replaces it (its root changed), so the keyring trusts exactly
 * one host key; without the host, the key received last is imported again (the keyring may have
 * been deleted meanwhile).
 */
export class HostKey {
  private key: SigningKey | undefined;

  constructor(private readonly options: HostKeyOptions) {}

  /** Asks `client` (when connected) for the key, then imports what it has. Never throws. */
  async refresh(client: TargetServiceClient | undefined): Promise<void> {
    try {
      if (client) {
        const res = await callUnary(client.getSigningKey.bind(client), {}, { deadlineMs: 15_000, signal: this.options.signal });
        if (res.key) this.key = res.key;
      }
    } catch (err) {
      this.options.log.warn({ err: errorMessage(err) }, 'could not get the host signing key; importing the last one again');
    }
    if (this.key) await this.install(this.key);
  }

  /** Imports `key` (a `key_rotated` event). Never throws: a failure is logged. */
  async install(key: SigningKey): Promise<void> {
    this.key = key;
    const { root, stateDir, runner, log, signal } = this.options;
    const record = join(stateDir, 'host-key.json');
    try {
      const previous = await readFile(record, 'utf8').then((t) => String((JSON.parse(t) as { fingerprint?: unknown }).fingerprint ?? ''), () => '');
      const fpr = await installSigningKey({ root, key, previous, runner, signal });
      if (fpr !== previous) await atomicWrite(record, `${JSON.stringify({ fingerprint: fpr })}\n`);
      log.info({ fingerprint: fpr }, 'host signing key trusted for binpkg verification');
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'installing the host signing key failed');
    }
  }
}
