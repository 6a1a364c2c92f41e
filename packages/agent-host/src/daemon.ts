import { Server } from '@grpc/grpc-js';
import { setMaxListeners } from 'node:events';
import { HostLayout } from './layout.js';
import {
  adaptService,
  bindError,
  addIntrospection,
  AdminServiceService,
  MAX_HOST_RECEIVE_BYTES,
  MAX_MESSAGE_BYTES,
  readTlsFiles,
  listenShared,
  lockStateDir,
  type StateDirLock,
  SpawnCommandRunner,
  type SharedListener,
  TargetServiceDefinition,
  type HostConfig,
  type Logger,
} from '@binhost/shared';
import { EventHub } from './events/event-hub.js';
import { TargetRegistry } from './registry/target-registry.js';
import { TargetStore } from './registry/target-store.js';
import { targetServiceHandlers } from './rpc/target-service.js';
import { adminServiceHandlers } from './rpc/admin-service.js';
import { RootManager } from './root/root-manager.js';
import { BuildSystem } from './build/build-system.js';
import type { ConfigApplier } from './build/auto-builder.js';
import type { ProcessLauncher } from './build/emerge-process.js';
import { FsPublicationSource, type PublicationSource } from './delivery/publication-source.js';
import { ActivityHub } from './delivery/activity-hub.js';
import { InstallReports } from './delivery/install-reports.js';
import type { EmergeBuilder } from './rpc/emerge-relay.js';
import { buildSystemEmergeBuilder } from './rpc/emerge-builder.js';
import { serveBulk } from './rpc/bulk-serve.js';
import { sweepRemovals } from './registry/remove-target.js';
import { DamagedRecordError, DamagedRecords } from './registry/damaged-records.js';
import { createMarchSummarizer } from './rpc/march-summary.js';

/** Options for {@link HostDaemon}. */
export interface HostDaemonOptions {
  config: HostConfig;
  log: Logger;
  /** Overrides `config.listen` (tests bind 127.0.0.1:0). */
  listen?: string;
  /** Time allowed for calls to finish on stop before they are cut. @default 5000 */
  shutdownGraceMs?: number;
  /** Applies target states to roots. @default the RootManager */
  applier?: ConfigApplier;
  /** Starts emerge. @default the real spawner */
  launcher?: ProcessLauncher;
  /** The build step of `binhostctl emerge` (the build queue); @default the BuildSystem */
  emergeBuilder?: EmergeBuilder;
  /** Connections that have not finished the TLS handshake by then are closed. @default TLS_HANDSHAKE_TIMEOUT_MS (10 s) */
  handshakeTimeoutMs?: number;
}

/**
 * The host agent: wires the registry, the event hub and the services onto one mutual-TLS gRPC
 * server, and takes them down again in order.
 */
export class HostDaemon {
  readonly hub = new EventHub();
  readonly registry: TargetRegistry;
  /** The binhost roots: created by `target add`, configured by apply. */
  readonly roots: RootManager;
  readonly layout: HostLayout;
  readonly builds: BuildSystem;
  readonly publications: PublicationSource;
  readonly activity = new ActivityHub();
  readonly installs: InstallReports;
  private server: Server | undefined;
  /** The one listener: gRPC and bulk-data connections (shared/grpc/shared-listener.ts). */
  private listener: SharedListener | undefined;
  private lock: StateDirLock | undefined;
  private readonly shutdown = new AbortController();
  private readonly log: Logger;

  constructor(private readonly options: HostDaemonOptions) {
    this.log = options.log.child({ component: 'host' });
    // every open call listens for shutdown; hundreds of targets hold event streams open at once
    setMaxListeners(0, this.shutdown.signal);
    this.layout = new HostLayout(options.config.stateDir);
    const layout = this.layout;
    // one record of damaged state-dir files, filled by every store that reads one (registry/damaged-records.ts)
    const damage = new DamagedRecords(options.log.child({ component: 'records' }));
    this.registry = new TargetRegistry(new TargetStore(layout.targetsDir(), { damage }), this.hub, options.log.child({ component: 'registry' }));
    const { compiler, repository } = options.config.build;
    this.roots = new RootManager({ layout, log: options.log, compiler, repository, damage: this.registry.damage });
    this.builds = new BuildSystem({
      config: options.config,
      layout,
      registry: this.registry,
      hub: this.hub,
      applier: options.applier ?? this.roots,
      ...(options.launcher ? { launcher: options.launcher } : {}),
      log: options.log,
    });
    this.publications = new FsPublicationSource(this.layout, this.builds.snapshots, this.registry.damage);
    this.installs = new InstallReports({ registry: this.registry, layout: this.layout, activity: this.activity, publications: this.publications });
  }

  /**
   * Takes the state dir's lock, loads state, binds and serves. Resolves to the bound port. A
   * state dir another live host holds is a {@link ConfigError} naming its pid and the lock file.
   */
  async start(): Promise<number> {
    this.lock = await this.takeLock();
    try {
      return await this.serve();
    } catch (err) {
      await this.releaseLock();
      throw err;
    }
  }

  private takeLock(): Promise<StateDirLock> {
    const { config } = this.options;
    // two hosts on one state dir would corrupt it: a configuration error, not retried (exit 78)
    return lockStateDir({
      agent: 'host',
      configFile: config.configFile,
      stateDir: config.stateDir,
      prepare: () => this.layout.prepare(), // the lock lives in the state dir: create it first
      onStale: (pid, lockFile) => this.log.warn({ pid, lockFile }, 'took over the lock of a host agent that is gone'),
    });
  }

  private async releaseLock(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  private async serve(): Promise<number> {
    const { config } = this.options;
    const tls = await readTlsFiles(config.tls, config.configFile, 'host');
    await this.registry.load();
    await sweepRemovals(this.layout); // what a host killed mid-`target remove` left behind
    await this.builds.start();
    await this.checkRecords();
    const server = new Server({
      // a report's limit plus 1 MiB: larger messages are refused from their length prefix, unread
      'grpc.max_receive_message_length': MAX_HOST_RECEIVE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      // targets ping every 30 s to keep NAT mappings open; allow it
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
      'grpc.max_connection_idle_ms': 0x7fffffff,
    });
    const publishedSnapshotId = (target: string) => this.builds.snapshots.publishedId(target);
    const delivery = { publications: this.publications, activity: this.activity, installs: this.installs };
    const adapt = { log: this.options.log.child({ component: 'rpc' }), shutdown: this.shutdown.signal };
    const builder = this.options.emergeBuilder ?? buildSystemEmergeBuilder(this.builds);
    const marchSummary = createMarchSummarizer({ runner: new SpawnCommandRunner(), compiler: () => config.build.compiler, log: this.log });
    server.addService(
      TargetServiceDefinition,
      adaptService(
        TargetServiceDefinition,
        targetServiceHandlers({ registry: this.registry, hub: this.hub, publishedSnapshotId, signingKey: (t) => this.builds.signingKeyOf(t), holdOnRepoSkew: () => this.builds.holdsOnRepoSkew(), ...delivery }),
        { ...adapt, role: 'target' },
      ),
    );
    server.addService(
      AdminServiceService,
      adaptService(
        AdminServiceService,
        adminServiceHandlers({ registry: this.registry, hub: this.hub, publishedSnapshotId, roots: this.roots, layout: this.layout, builds: this.builds, ...delivery, builder, marchSummary, log: this.log }),
        { ...adapt, role: 'admin' },
      ),
    );
    await addIntrospection(server, { 'binhost.agent.v1.TargetService': 'SERVING', 'binhost.agent.v1.AdminService': 'SERVING' });
    const address = this.options.listen ?? config.listen;
    const handshake = this.options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: this.options.handshakeTimeoutMs };
    // one listener for gRPC ('h2') and the bulk-data connections (BULK_ALPN), same mutual TLS
    const bulk = { publications: this.publications, log: this.options.log, shutdown: this.shutdown.signal };
    const listener = await listenShared(server, address, tls, { ...handshake, onBulk: (socket) => void serveBulk(socket, bulk) }).catch((err: unknown) => {
      throw bindError(err, config.configFile, 'listen', address);
    });
    const port = listener.port;
    this.server = server;
    this.listener = listener;
    this.log.info({ address, port }, 'listening');
    return port;
  }

  /**
   * Reads, at startup, the records the host otherwise reads only on demand (applied configs, last
   * install results, the published snapshots), so that a damaged one is logged and shown by
   * `binhostctl status` at once. Damage fails only the targets it concerns (registry/damaged-records.ts).
   */
  private async checkRecords(): Promise<void> {
    const names = this.registry.names();
    await this.roots.checkApplied();
    await this.installs.check(names);
    for (const t of names) {
      await this.publications.published(t).catch((err: unknown) => {
        if (!(err instanceof DamagedRecordError)) throw err;
      });
    }
  }

  /** Ends event streams, lets calls finish for the grace period, then cuts what is left. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const listener = this.listener;
    this.listener = undefined;
    listener?.stopAccepting(); // no new connections; transfers on bulk ones are cut (targets resume)
    this.shutdown.abort();
    await this.builds.stop();
    this.hub.closeAll();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, this.options.shutdownGraceMs ?? 5000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await listener?.close();
    await this.registry.flush();
    await this.releaseLock();
    this.log.info('stopped');
  }
}
