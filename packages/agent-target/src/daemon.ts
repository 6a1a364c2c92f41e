import { hostname } from 'node:os';
import { lockStateDir, readTlsFiles, type Logger, type StateDirLock, type TargetConfig, type TargetState, type TlsMaterial } from '@binhost/shared';
import { HostConnection } from './connection/host-connection.js';
import { StateReporter } from './connection/state-reporter.js';
import { collectTargetState } from './report/collect-state.js';
import { StateMonitor } from './watch/state-monitor.js';
import { Delivery, type DeliveryOptions } from './sync/delivery.js';

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
  /** Delivery hooks (command runner for emerge/gpg, test sources and writers). */
  delivery?: Omit<DeliveryOptions, 'config' | 'log'>;
}

/** The target agent: one outgoing connection to the host, and what it reports over it. */
export class TargetDaemon {
  connection: HostConnection | undefined;
  reporter: StateReporter | undefined;
  monitor: StateMonitor | undefined;
  delivery: Delivery | undefined;
  private readonly log: Logger;
  private lock: StateDirLock | undefined;

  constructor(private readonly options: TargetDaemonOptions) {
    this.log = options.log.child({ component: 'target' });
  }

  /**
   * Takes the state dir's lock (`<state_dir>/target.lock`: two targets on one state dir would
   * corrupt its mirror; a {@link ConfigError} naming the other's pid), then serves the mirror and
   * connects. A start that fails releases the lock.
   */
  async start(): Promise<void> {
    const { config } = this.options;
    const tls = await readTlsFiles(config.tls, config.configFile, 'target');
    this.lock = await lockStateDir({
      agent: 'target',
      configFile: config.configFile,
      stateDir: config.stateDir,
      onStale: (pid, lockFile) => this.log.warn({ pid, lockFile }, 'took over the lock of a target agent that is gone'),
    });
    try {
      await this.serve(tls);
    } catch (err) {
      await this.stop().catch(() => undefined); // what did start, and the lock
      throw err;
    }
  }

  private async serve(tls: TlsMaterial): Promise<void> {
    const { config } = this.options;
    const log = this.options.log.child({ component: 'state' });
    const { root, report } = config;
    const collect = this.options.collectState ?? (() => collectTargetState({ root, maxFileBytes: report.maxFileBytes, log }));
    const delivery = new Delivery({
      config,
      log: this.options.log.child({ component: 'delivery' }),
      // the drift check compares what the target has now with what the snapshot was built from
      currentDigest: async () => (await collect()).digest,
      syncState: async () => {
        this.reporter?.offer(await collect());
        await this.reporter?.idle();
      },
      ...this.options.delivery,
    });
    this.delivery = delivery;
    // the mirror endpoint serves what is mirrored even while the host is unreachable
    await delivery.start();
    const connection = new HostConnection({
      address: config.host,
      serverName: config.serverName,
      tls,
      log: this.options.log.child({ component: 'connection' }),
      agentVersion: AGENT_VERSION,
      hostname: hostname(),
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      registerInfo: () => ({ lastReportedDigest: this.reporter?.acknowledgedDigest ?? '', installedSnapshotId: delivery.installedSnapshotId }),
    });
    this.connection = connection;
    this.reporter = new StateReporter(connection, this.options.log.child({ component: 'reporter' }));
    const reporter = this.reporter;
    delivery.attach(connection);
    let lastRevisions: string | undefined;
    this.monitor = new StateMonitor({
      root,
      debounceMs: report.debounceMs,
      log,
      collect,
      offer: (state) => {
        reporter.offer(state);
        // a tree synced: an install held on repository skew may go ahead now
        const revisions = JSON.stringify(state.repoRevisions);
        if (revisions !== lastRevisions) delivery.treeChanged();
        lastRevisions = revisions;
      },
    });
    await this.monitor.start();
    connection.start();
    this.log.info({ host: config.host }, 'started');
  }

  /** The config in effect. A SIGHUP reload replaces it (live keys only, see reload.ts): read policies from here when they are used. */
  get config(): TargetConfig {
    return this.options.config;
  }

  set config(next: TargetConfig) {
    this.options.config = next;
    this.delivery?.reconfigure(next);
  }

  async stop(): Promise<void> {
    await this.monitor?.stop();
    // the sync stops before the connection (an install in progress is finished first)
    await this.delivery?.stop();
    await this.connection?.stop();
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
    this.log.info('stopped');
  }
}
