import { join } from 'node:path';
import {
  callUnary,
  collectRepoRevisions,
  describeSkew,
  errorMessage,
  InstallOutcome,
  InstallPolicy,
  InstallResult,
  installOutcomeToJSON,
  bindError,
  type InstallPolicyName,
  type Logger,
  type OpenEventsResponse,
  type RegisterResponse,
  type RepoRevision,
  type Snapshot,
  type TargetServiceClient,
  type SyncRequest,
  type TargetConfig,
  targetTreeOlder,
} from '@binhost/shared';
import type { HostConnection } from '../connection/host-connection.js';
import { spawnRunner, type ArgvRunner } from '../exec/command-runner.js';
import { MirrorStore } from '../mirror/mirror-store.js';
import { MirrorServer } from '../mirror/mirror-server.js';
import { Mirror, type MirrorOptions } from '../mirror/mirror.js';
import { grpcSnapshotSource, type SnapshotSource } from '../mirror/snapshot-source.js';
import { bulkSnapshotSource, type BulkSnapshotSource } from '../mirror/bulk-source.js';
import { Installer } from '../install/installer.js';
import { clearPortageDownloads, portageDownloadDir, writeBinreposEntry } from '../install/binrepos-entry.js';
import { HostKey } from '../install/host-key.js';
import { ActivityStream } from './activity-stream.js';
import { runSync } from './sync-run.js';

/** Options for {@link Delivery}. */
export interface DeliveryOptions {
  config: TargetConfig;
  log: Logger;
  runner?: ArgvRunner;
  /** The target's current state digest (drift check). */
  currentDigest?: () => Promise<string>;
  /** Reports the current state to the host and waits for it (before a drift refusal). */
  syncState?: () => Promise<void>;
  /** The target's repository revisions now (the hold check). @default collectRepoRevisions of config.root */
  repoRevisions?: () => Promise<RepoRevision[]>;
  /** Test hooks: a different source or writer, shorter backoff. */
  mirror?: Partial<Pick<MirrorOptions, 'openWriter' | 'backoff' | 'maxTransportRetries'>>;
  source?: SnapshotSource;
}

/**
 * The target's delivery side: the mirror, its loopback HTTP endpoint, the binrepos.conf entry,
 * the verification keyring, and the sync loop driven by host events. One sync runs at a time; a
 * request that arrives meanwhile replaces any still waiting (only the newest snapshot matters).
 */
export class Delivery {
  readonly store: MirrorStore;
  private readonly server: MirrorServer;
  private readonly runner: ArgvRunner;
  private connection: HostConnection | undefined;
  private mirror: Mirror | undefined;
  /** The bulk-data connections of the mirror's source, closed on stop. */
  private bulk: BulkSnapshotSource | undefined;
  private installer: Installer;
  private policyOverride: InstallPolicyName | undefined;
  private pending: SyncRequest | undefined;
  private running: Promise<void> | undefined;
  private unsent: InstallResult | undefined;
  private readonly hostKey: HostKey;
  private installed = 0;
  /** The host's repos.skew_policy is "hold" (told at Register and when it changes). */
  private holdOnSkew = false;
  /** The name the host knows this target by (for the hold's words). */
  private targetName = '';
  /** The request whose install is held until the target's tree catches up. */
  private held: SyncRequest | undefined;
  private treeMoved = false;
  /** Key installations in flight, awaited on stop (they write into the target root). */
  private readonly keyWork = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  port = 0;

  constructor(private readonly options: DeliveryOptions) {
    const { config, log } = options;
    this.store = new MirrorStore(join(config.stateDir, 'mirror'));
    this.server = new MirrorServer(this.store, log.child({ component: 'mirror-http' }));
    this.runner = options.runner ?? spawnRunner;
    this.installer = new Installer({ root: config.root, emerge: config.install.emerge, runner: this.runner, log: log.child({ component: 'emerge' }) });
    this.hostKey = new HostKey({ root: config.root, stateDir: config.stateDir, runner: this.runner, log, signal: this.stopping.signal });
  }

  /** The host's client while connected. */
  private connectedClient(): TargetServiceClient | undefined {
    return this.connection?.connected ? this.connection.client : undefined;
  }

  /** The snapshot installed last (for Register). */
  get installedSnapshotId(): number {
    return this.installed;
  }

  /** Takes a reloaded config (SIGHUP, see reload.ts): `install.policy` is read from it at the next decision. */
  reconfigure(config: TargetConfig): void {
    this.options.config = config;
  }

  /** The policy in force: the host's override, else `install.policy`. */
  get policy(): InstallPolicyName {
    return this.policyOverride ?? this.options.config.install.policy;
  }

  /** Serves the mirror on 127.0.0.1 and writes the binrepos.conf entry; works without the host. */
  async start(): Promise<void> {
    const { config, log } = this.options;
    await this.store.ensureDirs();
    this.installed = await this.store.installedId();
    this.port = await this.server.start(config.install.mirrorPort).catch((err: unknown) => {
      throw bindError(err, config.configFile, 'install.mirror_port', `127.0.0.1:${config.install.mirrorPort}`);
    });
    const file = await this.writeBinrepos();
    log.info({ port: this.port, binrepos: file, installed: this.installed }, 'mirror endpoint listening');
  }

  /** (Re)writes the binrepos.conf entry; a missing etc/portage is logged, not fatal. */
  private async writeBinrepos(): Promise<string | undefined> {
    const { config, log } = this.options;
    try {
      return await writeBinreposEntry(config.root, this.port, portageDownloadDir(config.stateDir));
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'binrepos.conf entry not written');
      return undefined;
    }
  }

  /** Follows the host connection's events. */
  attach(connection: HostConnection): void {
    this.connection = connection;
    // files over bulk-data connections (same listener, same mutual TLS), FetchFile when the host has none
    const source = this.options.source ?? (this.bulk = bulkSnapshotSource(grpcSnapshotSource(() => connection.client), () => connection.dial, this.options.log.child({ component: 'bulk' })));
    this.mirror = new Mirror({ store: this.store, source, log: this.options.log.child({ component: 'mirror' }), ...this.options.mirror });
    connection.on('connected', (reg) => this.onConnected(reg));
    connection.on('event', (e) => this.onEvent(e));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running?.catch(() => undefined);
    await Promise.all(this.keyWork);
    this.bulk?.close();
    await this.server.stop();
  }

  /** Resolves when no sync is running or waiting (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Queues a sync; it starts at once when none is running. */
  request(req: SyncRequest): void {
    this.pending = req;
    this.running ??= this.loop().finally(() => (this.running = undefined));
  }

  /**
   * The target's repository revisions changed (a tree synced): a held install is tried again.
   * The new state goes to the host at the same time (StateReporter), so status follows.
   */
  treeChanged(): void {
    // during a sync the tree may have been read before it moved: that sync's hold is tried again
    if (this.running) this.treeMoved = true;
    this.retryHeld('tree-synced', 'ebuild tree synced');
  }

  /** Requests the held install again (it is checked anew). */
  private retryHeld(id: string, reason: string): void {
    const req = this.held;
    if (!req || this.pending) return;
    this.held = undefined;
    this.request({ ...req, requestId: `${id}-${req.snapshotId}`, reason });
  }

  /**
   * Why the install of `snapshot` waits, or '': under the host's `hold` policy, while a tree of
   * this target is older than the one the snapshot was built from. The target reads its own trees
   * at this moment — the host decides what is published, the target when it installs.
   */
  private async holdReason(snapshot: Snapshot): Promise<string> {
    if (!this.holdOnSkew || snapshot.repoRevisions.length === 0) return '';
    const mine = await (this.options.repoRevisions ?? (() => collectRepoRevisions(this.options.config.root)))();
    if (!targetTreeOlder(snapshot.repoRevisions, mine)) return '';
    const who = this.targetName || 'this target';
    return `${describeSkew(who, snapshot.repoRevisions, mine)}; sync ${who}'s ebuild tree, the install follows (repos.skew_policy = "hold")`;
  }

  private onConnected(reg: RegisterResponse): void {
    this.setPolicy(reg.installPolicy);
    this.holdOnSkew = reg.holdOnRepoSkew;
    this.targetName = reg.targetName;
    this.track(this.hostKey.refresh(this.connectedClient()));
    if (this.unsent) void this.report(this.unsent);
    if (reg.publishedSnapshotId > 0 && reg.publishedSnapshotId !== this.installed) {
      this.request({ requestId: `connect-${reg.publishedSnapshotId}`, snapshotId: reg.publishedSnapshotId, args: [], confirmed: false, reason: 'published snapshot not installed' });
    }
  }

  private onEvent(e: OpenEventsResponse): void {
    const ev = e.event;
    if (!ev) return;
    if (ev.$case === 'snapshotPublished') {
      this.request({ requestId: `published-${ev.value.id}`, snapshotId: ev.value.id, args: [], confirmed: false, reason: 'snapshot published' });
    } else if (ev.$case === 'syncRequested') this.request(ev.value);
    else if (ev.$case === 'keyRotated') this.track(this.hostKey.install(ev.value));
    else if (ev.$case === 'installPolicyChanged') this.setPolicy(ev.value.policy);
    else if (ev.$case === 'repoSkewPolicyChanged') {
      this.holdOnSkew = ev.value.holdOnRepoSkew;
      if (!this.holdOnSkew) this.retryHeld('skew-policy', 'repos.skew_policy no longer holds');
    }
  }

  private track(work: Promise<void>): void {
    this.keyWork.add(work);
    void work.finally(() => this.keyWork.delete(work));
  }

  private setPolicy(p: InstallPolicy): void {
    const names: Partial<Record<InstallPolicy, InstallPolicyName>> = {
      [InstallPolicy.INSTALL_POLICY_AUTO]: 'auto',
      [InstallPolicy.INSTALL_POLICY_CONFIRM]: 'confirm',
      [InstallPolicy.INSTALL_POLICY_OFF]: 'off',
    };
    this.policyOverride = names[p];
  }

  private async loop(): Promise<void> {
    while (this.pending && !this.stopping.signal.aborted) {
      const req = this.pending;
      this.pending = undefined;
      const log = this.options.log.child({ requestId: req.requestId, snapshotId: req.snapshotId });
      await this.writeBinrepos(); // etc/portage may have appeared (or been replaced) since start
      await this.hostKey.refresh(this.connectedClient()); // the key of the root it is served from now; the keyring may be gone
      await clearPortageDownloads(this.options.config.stateDir);
      const activity = new ActivityStream(this.connection?.connected ? this.connection.client : undefined, req.requestId, log);
      let result: InstallResult;
      this.treeMoved = false;
      try {
        result = await runSync(
          {
            mirror: this.mirror!,
            store: this.store,
            installer: this.installer,
            log,
            currentDigest: this.options.currentDigest,
            syncState: this.options.syncState,
            holdReason: (snapshot) => this.holdReason(snapshot),
          },
          req,
          this.policy,
          activity,
          this.stopping.signal,
        );
      } catch (err) {
        log.error({ err }, 'sync failed');
        result = InstallResult.fromPartial({
          requestId: req.requestId,
          snapshotId: req.snapshotId,
          outcome: InstallOutcome.INSTALL_OUTCOME_FAILED,
          error: errorMessage(err),
          finishedAt: new Date(),
        });
      }
      await activity.close();
      this.installed = await this.store.installedId();
      this.held = result.outcome === InstallOutcome.INSTALL_OUTCOME_HELD ? req : undefined;
      if (this.held && this.treeMoved) this.treeChanged();
      log.info({ outcome: installOutcomeToJSON(result.outcome), error: result.error || undefined }, 'sync finished');
      await this.report(result);
    }
  }

  private async report(result: InstallResult): Promise<void> {
    const c = this.connection?.client;
    this.unsent = result;
    if (!c || !this.connection?.connected) return;
    try {
      await callUnary(c.reportInstall.bind(c), { result }, { deadlineMs: 15_000, signal: this.stopping.signal });
      if (this.unsent === result) this.unsent = undefined;
    } catch (err) {
      this.options.log.warn({ err: errorMessage(err) }, 'install report not delivered; resent on reconnect');
    }
  }
}
