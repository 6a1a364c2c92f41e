import { hostname } from 'node:os';
import { readTlsFiles, type Logger, type TargetConfig, type TargetState } from '@binhost/shared';
import { HostConnection } from './connection/host-connection.js';
import { StateReporter } from './connection/state-reporter.js';
import { collectTargetState } from './report/collect-state.js';
import { StateMonitor } from './watch/state-monitor.js';

/** The version this agent reports to its host. */
export const AGENT_VERSION = '0.1.0';

/** Options for {@link TargetDaemon}. */
export interface TargetDaemonOptions {
  config: TargetConfig;
  log: Logger;
  /** Collects the target's current state. @default collectTargetState of config.root */
  collectState?: () => Promise<TargetState>;
  /** Reconnect backoff bounds (tests shorten them). */
  backoff?: { initialMs: number; maxMs: number };
}

/** The target agent: one outgoing connection to the host, and what it reports over it. */
export class TargetDaemon {
  connection: HostConnection | undefined;
  reporter: StateReporter | undefined;
  monitor: StateMonitor | undefined;
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
    const reporter = this.reporter;
    const log = this.options.log.child({ component: 'state' });
    const { root, report } = config;
    this.monitor = new StateMonitor({
      root,
      debounceMs: report.debounceMs,
      log,
      collect: this.options.collectState ?? (() => collectTargetState({ root, maxFileBytes: report.maxFileBytes, log })),
      offer: (state) => reporter.offer(state),
    });
    await this.monitor.start();
    connection.start();
    this.log.info({ host: config.host }, 'started');
  }

  async stop(): Promise<void> {
    await this.monitor?.stop();
    await this.connection?.stop();
    this.log.info('stopped');
  }
}
