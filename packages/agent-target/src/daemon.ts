import { hostname } from 'node:os';
import { readTlsFiles, type Logger, type TargetConfig, type TargetState } from '@binhost/shared';
import { HostConnection } from './connection/host-connection.js';
import { StateReporter } from './connection/state-reporter.js';

/** The version this agent reports to its host. */
export const AGENT_VERSION = '0.1.0';

/** Options for {@link TargetDaemon}. */
export interface TargetDaemonOptions {
  config: TargetConfig;
  log: Logger;
  /** Collects the target's current state (the report module). */
  collectState?: () => Promise<TargetState>;
  /** Reconnect backoff bounds (tests shorten them). */
  backoff?: { initialMs: number; maxMs: number };
}

/** The target agent: one outgoing connection to the host, and what it reports over it. */
export class TargetDaemon {
  connection: HostConnection | undefined;
  reporter: StateReporter | undefined;
  private readonly log: Logger;

  constructor(private readonly options: TargetDaemonOptions) {
    this.log = options.log.child({ component: 'target' });
  }

  async start(): Promise<void> {
    const { config } = this.options;
    const tls = await readTlsFiles(config.tls, config.configFile);
    const connection = new HostConnection({
      address: config.host,
      serverName: config.serverName,
      tls,
      log: this.options.log.child({ component: 'connection' }),
      agentVersion: AGENT_VERSION,
      hostname: hostname(),
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      registerInfo: () => ({ lastReportedDigest: this.reporter?.acknowledgedDigest ?? '', installedSnapshotId: 0 }),
    });
    this.connection = connection;
    this.reporter = new StateReporter(connection, this.options.log.child({ component: 'reporter' }));
    if (this.options.collectState) this.reporter.offer(await this.options.collectState());
    connection.start();
    this.log.info({ host: config.host }, 'started');
  }

  /** The config in effect. A SIGHUP reload replaces it (live keys only, see reload.ts): read policies from here when they are used. */
  get config(): TargetConfig {
    return this.options.config;
  }

  set config(next: TargetConfig) {
    this.options.config = next;
  }

  async stop(): Promise<void> {
    await this.connection?.stop();
    this.log.info('stopped');
  }
}
