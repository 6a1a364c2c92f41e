import {
  reportSendKey,
  callUnary,
  errorMessage,
  isStatus,
  RETRYABLE,
  type Logger,
  type RegisterResponse,
  type TargetState,
} from '@binhost/shared';
import type { HostConnection } from './host-connection.js';

/**
 * Delivers the latest state to the host. Only the newest state matters: a state that is
 * superseded before it could be sent is never sent; a state the host already holds (same digest)
 * is not sent again; after a reconnect the newest state is sent if the host's stored digest
 * differs or the host has not acknowledged it in this process (the host keeps the repository
 * revisions in the target's record, so a restarted host needs nothing again).
 */
export class StateReporter {
  private latest: TargetState | undefined;
  private hostDigest: string | undefined;
  private sending: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly connection: HostConnection,
    private readonly log: Logger,
  ) {
    connection.on('connected', (reg: RegisterResponse) => {
      this.hostDigest = reg.storedDigest || undefined;
      this.kick();
    });
  }

  /**
   * {@link reportSendKey} of the state the host acknowledged last, in this process. Unknown after the
   * agent starts, so its first state is sent once even when the host holds the same digest: the
   * machine facts (a new CPU, gcc installed) may have changed while the agent was down.
   */
  private acknowledgedKey: string | undefined;

  /** The digest the host acknowledged last. */
  get acknowledgedDigest(): string {
    return this.hostDigest ?? '';
  }

  /** Offers a new state; it is sent when connected and different from what the host holds. */
  offer(state: TargetState): void {
    this.latest = state;
    this.kick();
  }

  /** Resolves when nothing is left to send (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private kick(): void {
    if (this.sending) {
      this.again = true;
      return;
    }
    this.sending = this.sendLoop().finally(() => (this.sending = undefined));
  }

  private async sendLoop(): Promise<void> {
    do {
      this.again = false;
      const state = this.latest;
      if (!state || !this.connection.connected) continue;
      // same files, machine facts and repository revisions as the host acknowledged: nothing to send
      if (state.digest === this.hostDigest && reportSendKey(state) === this.acknowledgedKey) continue;
      try {
        const res = await callUnary(this.connection.client.reportState.bind(this.connection.client), { state }, {
          deadlineMs: 60_000,
          signal: this.connection.signal,
        });
        this.hostDigest = res.digest;
        this.acknowledgedKey = reportSendKey(state);
        this.log.info({ digest: res.digest, changed: res.changed }, 'state reported');
      } catch (err) {
        // A retryable failure is retried on the next connect; anything else is the host refusing
        // this state, which a newer state may fix.
        const retry = isStatus(err, ...RETRYABLE);
        this.log.warn({ err: errorMessage(err), digest: state.digest, retry }, 'state report failed');
      }
    } while (this.again);
  }
}
