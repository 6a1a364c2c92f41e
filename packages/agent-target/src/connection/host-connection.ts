import { EventEmitter } from 'node:events';
import {
  backoffDelay,
  callServerStream,
  callUnary,
  clientChannelOptions,
  clientCredentials,
  errorMessage,
  sleep,
  createTargetServiceClient,
  type TargetServiceClient,
  type BackoffOptions,
  type Logger,
  type OpenEventsResponse,
  type RegisterResponse,
  type TlsMaterial,
} from '@binhost/shared';

/** Options for {@link HostConnection}. */
export interface HostConnectionOptions {
  /** `host:port` to dial. */
  address: string;
  /** The DNS name in the host's certificate. */
  serverName: string;
  tls: TlsMaterial;
  log: Logger;
  agentVersion: string;
  hostname: string;
  /** Reconnect backoff. @default { initialMs: 500, maxMs: 30_000 } */
  backoff?: BackoffOptions;
  /** Fail the event stream when the host sends nothing (not even keepalive-driven data) this long. */
  idleTimeoutMs?: number;
  /** Filled into each Register call. */
  registerInfo?: () => { lastReportedDigest: string; installedSnapshotId: number };
}

/** Events of a {@link HostConnection}. */
export interface HostConnectionEvents {
  /** Registered and subscribed; `registration` is the host's answer. */
  connected: [registration: RegisterResponse];
  disconnected: [error: Error];
  event: [event: OpenEventsResponse];
}

/**
 * The target's one connection to its host: dial out (the host is the only listener, so this
 * works behind NAT), register, hold the event stream open, and when anything breaks, reconnect
 * with jittered exponential backoff, forever, until stopped.
 */
export class HostConnection extends EventEmitter<HostConnectionEvents> {
  readonly client: TargetServiceClient;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private isConnected = false;

  constructor(private readonly options: HostConnectionOptions) {
    super();
    this.client = createTargetServiceClient(
      options.address,
      clientCredentials(options.tls),
      clientChannelOptions({ serverName: options.serverName }),
    );
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Where and as whom this connection dials: bulk-data connections use the same (sync/bulk-source.ts). */
  get dial(): { readonly address: string; readonly serverName: string; readonly tls: TlsMaterial } {
    const { address, serverName, tls } = this.options;
    return { address, serverName, tls };
  }

  /** An abort signal that fires on stop(), for calls made on this connection. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    this.client.close();
  }

  private async run(): Promise<void> {
    const log = this.options.log;
    let attempt = 0;
    while (!this.stopping.signal.aborted) {
      try {
        const info = this.options.registerInfo?.() ?? { lastReportedDigest: '', installedSnapshotId: 0 };
        const registration = await callUnary(this.client.register.bind(this.client), {
          agentVersion: this.options.agentVersion,
          hostname: this.options.hostname,
          ...info,
        }, { deadlineMs: 15_000, signal: this.stopping.signal });
        const stream = callServerStream(this.client.openEvents.bind(this.client), {}, {
          signal: this.stopping.signal,
          ...(this.options.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.options.idleTimeoutMs } : {}),
        });
        for await (const event of stream) {
          if (event.event?.$case === 'hello') {
            attempt = 0;
            this.isConnected = true;
            log.info({ target: registration.targetName }, 'connected to host');
            this.emit('connected', registration);
          }
          this.emit('event', event);
        }
        if (!this.stopping.signal.aborted) throw new Error('host closed the event stream');
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        this.markDisconnected(err);
        const delay = backoffDelay(attempt++, this.options.backoff);
        log.warn({ err: errorMessage(err), retryInMs: delay }, 'host unreachable, retrying');
        await sleep(delay, this.stopping.signal);
        continue;
      }
    }
    this.markDisconnected(new Error('stopped'));
  }

  private markDisconnected(err: unknown): void {
    if (!this.isConnected) return;
    this.isConnected = false;
    this.emit('disconnected', err instanceof Error ? err : new Error(String(err)));
  }
}
