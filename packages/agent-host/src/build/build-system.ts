import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError, BuildKind, describeSkew, parsePackagesIndex, targetTreeOlder, InvalidArgumentError, runCommand, type Build, type HostConfig, type Logger, type SigningKey, type Snapshot } from '@binhost/shared';
import type { HostLayout } from '../layout.js';
import type { TargetRegistry } from '../registry/target-registry.js';
import type { EventHub } from '../events/event-hub.js';
import { BuildStore } from './build-store.js';
import { BuildQueue } from './build-queue.js';
import { AutoBuilder, rootOf, type ConfigApplier } from './auto-builder.js';
import { spawnLauncher, type ProcessLauncher } from './emerge-process.js';
import { validateBuildArgs } from './build-args.js';
import { reapOrphans } from './orphans.js';
import { SnapshotStore } from '../publish/snapshot-store.js';
import { RootSigningKeys } from '../signing/root-signing-keys.js';
import { RootEnvironment } from './root-environment.js';
import { GarbageCollector } from '../gc/garbage-collector.js';
import { hostRepoRevisions } from '../repos/repo-skew.js';
import { emergeEnv } from './emerge-build.js';
import { status } from '@grpc/grpc-js';
import { DistccBuilds } from '../distcc/distcc-builds.js';

/** Options for {@link BuildSystem}. */
export interface BuildSystemOptions {
  config: HostConfig;
  layout: HostLayout;
  registry: TargetRegistry;
  hub: EventHub;
  /** Applies target states to roots (RootManager). */
  applier: ConfigApplier;
  /** @default the real spawner */
  launcher?: ProcessLauncher;
  log: Logger;
}

/**
 * Builds, snapshots and signing, wired together for the daemon and the services: the build
 * queue publishes each succeeded build as a snapshot for every target of its root and prunes old
 * snapshots; the automatic loop turns state reports into builds.
 */
export class BuildSystem {
  readonly store: BuildStore;
  readonly queue: BuildQueue;
  readonly snapshots: SnapshotStore;
  readonly signing: RootSigningKeys;
  readonly auto: AutoBuilder;
  /** Retention of binpkgs, snapshots and build history; disk usage per root. */
  readonly gc: GarbageCollector;
  /** Builds (`root/id`) an admin asked to publish rebuilt instances of (`build --reinstall-rebuilt`); they never outlive the host. */
  private readonly reinstallRebuilt = new Set<string>();
  /** The snapshot each target was refused (repos.skew_policy = "refuse"), published when its tree catches up. */
  private readonly refused = new Map<string, { root: string; id: number }>();
  /** The target registry builds are made for. */
  readonly registry: TargetRegistry;
  /** Distributed compiles (`[distcc]`, live on reload). */
  readonly distcc: DistccBuilds;
  /** `repos.skew_policy`, live on SIGHUP ({@link setSkewPolicy}). */
  private skewPolicy: HostConfig['repos']['skewPolicy'];
  /** The environment and sandbox of every Portage command run for a root. */
  private readonly environment: RootEnvironment;

  constructor(private readonly options: BuildSystemOptions) {
    this.registry = options.registry;
    const { config, layout, log } = options;
    this.skewPolicy = config.repos.skewPolicy;
    this.store = new BuildStore(layout, log.child({ component: 'builds' }), options.registry.damage);
    this.snapshots = new SnapshotStore(layout, log.child({ component: 'snapshots' }), undefined, options.registry.damage);
    this.distcc = new DistccBuilds({ config: config.distcc, layout, configFile: config.configFile, log: log.child({ component: 'distcc' }) });
    this.signing = new RootSigningKeys({ layout, gpg: config.signing.gpg, enabled: config.signing.enabled, log: log.child({ component: 'signing' }) });
    this.environment = new RootEnvironment({ config, layout, signing: this.signing, distcc: this.distcc });
    this.queue = new BuildQueue({
      layout,
      store: this.store,
      launcher: options.launcher ?? spawnLauncher,
      command: config.build.emerge,
      graceMs: config.build.cancelGraceSeconds * 1000,
      env: (root) => this.environment.env(root),
      wrap: (root, argv) => this.environment.wrap(root, argv),
      // the sandbox binds it to /run/portage; unsandboxed, emerge uses the host's own /run/portage
      observe: (root) => (config.build.sandbox ? layout.observabilityDir(root) : undefined),
      afterEmerge: (build, writer) => this.distcc.afterEmerge(build, writer),
      publish: (build) => this.publishBuild(build),
      log: log.child({ component: 'build-queue' }),
    });
    this.gc = new GarbageCollector({
      layout,
      snapshots: this.snapshots,
      builds: this.store,
      keepSnapshots: config.build.keepSnapshots,
      keepBuilds: config.retention.keepBuilds,
      inUse: (root) => this.snapshotsInUse(root),
      targetsOf: (root) => options.registry.names().filter((t) => this.rootOf(t) === root || this.snapshots.publishedRoot(t) === root),
      busy: (root) => {
        const b = this.queue.running(root);
        return b ? `build ${b.id} is running in it` : undefined;
      },
      fixIndex: (root) => this.fixIndex(root),
      log: log.child({ component: 'retention' }),
    });
    this.queue.on('started', (build) => this.distcc.started(build.root));
    this.auto = new AutoBuilder({
      registry: options.registry,
      hub: options.hub,
      queue: this.queue,
      layout,
      applier: options.applier,
      autoArgs: config.build.autoArgs,
      log: log.child({ component: 'auto-builder' }),
      store: this.store,
      snapshots: this.snapshots,
    });
    options.registry.on('revisions', (t) => {
      this.publishCaughtUp(t).catch((err: unknown) => log.error({ err, target: t }, 'publishing a refused snapshot failed'));
    });
  }

  /** Publishes the snapshot `target` was refused once its reported trees are at least as new, or the policy no longer refuses. */
  private async publishCaughtUp(target: string): Promise<void> {
    const { registry, hub } = this.options;
    const refused = this.refused.get(target);
    if (!refused || !registry.has(target) || this.rootOf(target) !== refused.root) return;
    const snapshot = await this.snapshots.read(refused.root, refused.id).catch(() => undefined);
    if (snapshot && this.skewPolicy === 'refuse' && targetTreeOlder(snapshot.repoRevisions, registry.repoRevisionsOf(target))) return;
    this.refused.delete(target);
    if (!snapshot) return; // pruned meanwhile: the next build publishes
    await this.snapshots.publish(target, refused.root, snapshot.id);
    await registry.update(target, (r) => (r.lastError = ''));
    this.options.log.info({ target, snapshotId: snapshot.id }, `refused snapshot published: ${this.skewPolicy === 'refuse' ? 'target tree caught up' : `repos.skew_policy is now "${this.skewPolicy}"`}`);
    hub.publish(target, { $case: 'snapshotPublished', value: snapshot });
  }

  /**
   * The public signing key `target` must trust: that of the root its published snapshot comes
   * from (what it installs next), or before any publication that of the root it builds in.
   */
  async signingKeyOf(target: string): Promise<{ key: SigningKey }> {
    if (!target) throw new InvalidArgumentError('name the target whose signing key you want');
    this.registry.get(target); // NOT_FOUND for an unknown name
    return { key: await this.signing.of(this.snapshots.publishedRoot(target) ?? rootOf(this.registry, target)).ensure() };
  }

  /** Loads history (marking cut-off builds INTERRUPTED) and publications; starts the loop. */
  async start(): Promise<void> {
    await this.store.load();
    const { emerge, cancelGraceSeconds } = this.options.config.build;
    const orphans = this.store.cutOff.map((c) => ({ ...c, buildId: c.id, pidFile: this.store.pidFile(c.root, c.id), rootDir: this.options.layout.rootDir(c.root) }));
    await reapOrphans(orphans, emerge, cancelGraceSeconds * 1000, this.options.log.child({ component: 'builds' }));
    await this.snapshots.load(this.options.registry.names());
    // The signing key is made on first use (the first build or GetSigningKey), so a host whose
    // gpg is broken still starts, and says why when it matters.
    this.auto.start();
  }

  /** Stops the loop and every running build (recorded INTERRUPTED). */
  async stop(): Promise<void> {
    await this.auto.stop();
    await this.queue.stop();
    await this.auto.detach();
    await this.signing.close();
  }

  /**
   * A reloaded `repos.skew_policy`: publications from now on follow it, and each target is told
   * whether to hold installs (RepoSkewPolicyChanged). Leaving `refuse` publishes what was held back.
   */
  setSkewPolicy(policy: HostConfig['repos']['skewPolicy']): void {
    const { registry, hub, log } = this.options;
    if (policy === this.skewPolicy) return;
    const holdChanged = (policy === 'hold') !== (this.skewPolicy === 'hold');
    this.skewPolicy = policy;
    for (const t of registry.names()) {
      if (holdChanged) hub.publish(t, { $case: 'repoSkewPolicyChanged', value: { holdOnRepoSkew: policy === 'hold' } });
      if (policy !== 'refuse' && this.refused.has(t)) this.publishCaughtUp(t).catch((err: unknown) => log.error({ err, target: t }, 'publishing a refused snapshot failed'));
    }
  }

  /** Whether targets hold installs while their tree is older (`repos.skew_policy = "hold"`), now. */
  holdsOnRepoSkew(): boolean {
    return this.skewPolicy === 'hold';
  }

  rootOf(target: string): string {
    return rootOf(this.options.registry, target);
  }

  /**
   * `binhostctl build NAME [-- ARGS]` (and `emerge`): no args means the automatic arguments. It is
   * a manual build either way, asked for by an admin: it is listed as such and a newer state does
   * not cancel it (only automatic builds are made obsolete).
   */
  async trigger(target: string, args: readonly string[], opts: { reinstallRebuilt?: boolean } = {}): Promise<Build> {
    this.options.registry.get(target);
    const { build } = await this.queue.request({
      target,
      root: this.rootOf(target),
      kind: BuildKind.BUILD_KIND_MANUAL,
      args: args.length > 0 ? validateBuildArgs(args) : this.options.config.build.autoArgs,
      configDigest: this.options.registry.currentDigest(target) ?? '',
    });
    if (opts.reinstallRebuilt) this.reinstallRebuilt.add(`${build.root}/${build.id}`);
    return build;
  }

  /** Builds of one target's root, or of every root; newest first. */
  list(target: string | undefined, limit: number): Build[] {
    const roots = target ? [this.rootOf(target)] : this.store.roots();
    const all = roots.flatMap((r) => this.store.list(r)).sort((a, b) => (b.queuedAt?.getTime() ?? 0) - (a.queuedAt?.getTime() ?? 0));
    return limit > 0 ? all.slice(0, limit) : all;
  }

  /** Publishes snapshot `id` of the target's root for it (rollback or roll forward). */
  async publish(target: string, id: number): Promise<Snapshot> {
    this.options.registry.get(target);
    this.refused.delete(target); // the admin chose what it gets
    const snapshot = await this.snapshots.publish(target, this.rootOf(target), id);
    this.options.hub.publish(target, { $case: 'snapshotPublished', value: snapshot });
    return snapshot;
  }

  /** The queue's publish step: snapshot, point every target of the root at it, prune. */
  private async publishBuild(build: Build): Promise<number> {
    const { registry, hub, config } = this.options;
    const key = `${build.root}/${build.id}`;
    const index = await readFile(join(this.options.layout.pkgDir(build.root), 'Packages'), 'utf8').then((t) => parsePackagesIndex(t), () => undefined);
    const repoRevisions = await hostRepoRevisions(this.options.layout.rootDir(build.root), config.build.repository, index);
    const snapshot = await this.snapshots.create(build.root, build.id, build.configDigest, { reinstallRebuilt: this.reinstallRebuilt.delete(key), repoRevisions });
    // build.target may have been removed meanwhile (`target remove`): publishing would recreate its dir
    const targets = new Set([build.target, ...registry.names().filter((t) => this.rootOf(t) === build.root)].filter((t) => registry.has(t)));
    for (const t of targets) {
      if (this.skewPolicy === 'refuse' && targetTreeOlder(snapshot.repoRevisions, registry.repoRevisionsOf(t))) {
        // its tree lacks versions the build may have: what it has stays published until it syncs
        const why = `snapshot ${snapshot.id} not published: ${t}'s ebuild tree is older than the build's (${describeSkew(t, snapshot.repoRevisions, registry.repoRevisionsOf(t))}); sync its tree (repos.skew_policy = "refuse")`;
        this.options.log.warn({ target: t, snapshotId: snapshot.id }, 'snapshot held back: target tree older');
        await registry.update(t, (r) => (r.lastError = why));
        this.refused.set(t, { root: build.root, id: snapshot.id });
        continue;
      }
      this.refused.delete(t);
      await this.snapshots.publish(t, build.root, snapshot.id);
      // a target that shares the root gets a good build too: its earlier refusal is over
      if (registry.has(t) && registry.get(t).lastError) await registry.update(t, (r) => (r.lastError = ''));
      hub.publish(t, { $case: 'snapshotPublished', value: snapshot });
    }
    await this.snapshots.prune(build.root, config.build.keepSnapshots, this.snapshotsInUse(build.root));
    // Retention of the root's binpkgs: a failure is logged, the build and its publication stand
    await this.gc.collect(build.root, { dryRun: false, inBuild: true }).catch((err: unknown) => this.options.log.error({ err, root: build.root }, 'retention failed'));
    return snapshot.id;
  }

  /** Snapshot ids of `root` that a target is published or has installed. */
  private snapshotsInUse(root: string): number[] {
    const { registry } = this.options;
    return registry
      .names()
      .filter((t) => this.snapshots.publishedRoot(t) === root)
      .flatMap((t) => [this.snapshots.publishedId(t), registry.get(t).installedSnapshotId]);
  }

  /**
   * Makes PKGDIR/Packages of `root` list exactly its files again, with Portage's own tool:
   * `emaint binhost --fix` with the root's ROOT, PORTAGE_CONFIGROOT and PKGDIR, in the root's
   * build sandbox (it reads the root's config, which is the target's).
   */
  private async fixIndex(root: string): Promise<void> {
    const { config, layout } = this.options;
    const argv = await this.environment.wrap(root, [...config.retention.emaint, 'binhost', '--fix']);
    const env = emergeEnv({ rootDir: layout.rootDir(root), pkgDir: layout.pkgDir(root), extraEnv: await this.environment.env(root) });
    const [file = 'emaint', ...args] = argv;
    const r = await runCommand({ file, args, env, cwd: layout.rootDir(root), check: false, tailLines: 20 }).catch((err: unknown) => {
      throw new AgentError(`emaint binhost --fix in root "${root}" could not start (retention.emaint = ${JSON.stringify(config.retention.emaint)})`, status.FAILED_PRECONDITION, { cause: err });
    });
    if (r.exitCode !== 0) {
      throw new AgentError(`emaint binhost --fix in root "${root}" exited with ${r.exitCode ?? r.signal}: ${r.tail.at(-1) ?? ''}`, status.INTERNAL);
    }
  }
}
