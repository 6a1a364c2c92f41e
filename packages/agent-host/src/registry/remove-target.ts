import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { rootCreated } from './created-root.js';
import {
  BuildStatus,
  errnoCode,
  FailedPreconditionError,
  NotFoundError,
  type Build,
  type Logger,
  type RemoveTargetRequest,
  type RemoveTargetResponse,
} from '@binhost/shared';
import { HostLayout } from '../layout.js';
import type { TargetRegistry } from './target-registry.js';

/** What {@link removeTarget} needs of the host: the registry, and the build side of the target's root. */
export interface RemoveTargetDeps {
  registry: Pick<TargetRegistry, 'has' | 'get' | 'names' | 'isConnected' | 'flush' | 'remove' | 'update'>;
  layout: HostLayout;
  builds: {
    rootOf(target: string): string;
    store: { list(root: string): Build[]; forgetRoot(root: string): void };
    queue: { cancel(root: string, id: number, reason: string): Promise<Build> };
    snapshots: { publishedRoot(target: string): string | undefined; forget(target: string): void };
    /** The roots' signing keys (their gpg-agents are stopped before the keys are deleted). */
    signing: { forget(root: string): Promise<void> };
  };
  /** The serving side's cache of parsed snapshots. */
  publications: { forgetRoot(root: string): void };
  log?: Logger | undefined;
}

/**
 * `binhostctl target remove NAME [--purge]`. Refuses a connected target (it would only register
 * again). Cancels the queued and running builds of its root when no other target uses that root,
 * then deletes the target's record dir; with `purge`, also the root and its `.meta` dir, unless
 * another target builds in it or is served from it. Every deletion is a rename into
 * {@link HostLayout.removingDir} first, so a crash never leaves a half-deleted dir in place.
 */
export async function removeTarget(deps: RemoveTargetDeps, req: RemoveTargetRequest): Promise<RemoveTargetResponse> {
  // One removal at a time per host: one's sweep must not delete another's removal dir mid-rename,
  // and two removals of sharing targets must each see the other's outcome.
  const previous = running.get(deps.registry) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(() => removeNow(deps, req));
  running.set(deps.registry, next);
  try {
    return await next;
  } finally {
    if (running.get(deps.registry) === next) running.delete(deps.registry);
  }
}

/** The removal in progress of each host (keyed by its registry). */
const running = new WeakMap<object, Promise<unknown>>();

async function removeNow(deps: RemoveTargetDeps, req: RemoveTargetRequest): Promise<RemoveTargetResponse> {
  const { registry, layout, builds } = deps;
  const { name } = req;
  if (!registry.has(name)) throw new NotFoundError(`no target named "${name}"`);
  assertDisconnected(deps, name);
  await sweepRemovals(layout);
  const root = rootOfTarget(deps, name);
  const sharedWith = root ? usersOf(deps, root, name) : [];
  // Before the removal: once the owner is gone, rootOf no longer finds the shared root.
  const heir = root ? sharedWith.find((t) => builds.rootOf(t) === root && registry.get(t).root === undefined) : undefined;
  const own = registry.get(name).root;
  const ownRoot = own !== undefined && own !== root ? own : undefined;
  const ownUnused = ownRoot !== undefined && usersOf(deps, ownRoot, name).length === 0;
  const cancelled = [
    ...(root && sharedWith.length === 0 ? await cancelBuilds(deps, root, name) : []),
    ...(ownRoot && ownUnused ? await cancelBuilds(deps, ownRoot, name) : []),
  ];

  // Pending record writes (a touch, a policy change) would recreate the dir after the rename.
  await registry.flush();
  // Cancelling a build can take the grace period: the target may have connected meanwhile.
  assertDisconnected(deps, name);
  await moveAndDelete(layout, [layout.targetDir(name)]);
  await registry.remove(name);
  builds.snapshots.forget(name);
  // The removed target's record named the shared root; the first sharer that builds in it and has
  // no root of its own takes it over, so the auto-builder still finds it for the others.
  if (root && own === root && heir) await registry.update(heir, (r) => (r.root = root));

  const rootRemoved = req.purge && root !== undefined && sharedWith.length === 0 && (await purgeRoot(deps, root));
  const ownRootRemoved = req.purge && ownRoot !== undefined && ownUnused && (await purgeRoot(deps, ownRoot));
  deps.log?.info({ target: name, root, ownRoot, purge: req.purge, rootRemoved, ownRootRemoved, sharedWith, cancelled }, 'target removed');
  return { root: root ?? '', rootRemoved, sharedWith, cancelledBuilds: cancelled, ownRoot: ownRoot ?? '', ownRootRemoved };
}

/** Deletes `root` and its `.meta` dir, and what the host remembers of them. Returns whether they were there. */
async function purgeRoot(deps: RemoveTargetDeps, root: string): Promise<boolean> {
  const { layout } = deps;
  // The root first: a crash between the two renames leaves a .meta dir without a root, which
  // no build uses, rather than a root without its applied config.
  const removed = await moveAndDelete(layout, [layout.rootDir(root), layout.metaDir(root)]);
  // what the root's builds had beside it: their signing key, their layer over the host's /, temp
  // and distfiles; nothing of it is any use without the root
  await deps.builds.signing.forget(root);
  await moveAndDelete(layout, [layout.keysDir(root), layout.layersDir(root), layout.buildTmpDir(root), layout.distDir(root)]);
  deps.builds.store.forgetRoot(root);
  deps.publications.forgetRoot(root);
  return removed;
}

/** A connected target would just register again: refuse. */
function assertDisconnected(deps: RemoveTargetDeps, name: string): void {
  if (!deps.registry.isConnected(name)) return;
  throw new FailedPreconditionError(
    `${name} is connected: stop binhost-target on it first (its certificate stays valid until it expires; the CA has no revocation list)`,
  );
}

/**
 * The root the target builds in, as `binhostctl targets` shows it: its own or a shared one, once
 * some target created it with `target add`; undefined otherwise.
 */
function rootOfTarget(deps: RemoveTargetDeps, name: string): string | undefined {
  const { registry, builds } = deps;
  const root = builds.rootOf(name);
  return rootCreated(root, new Set(registry.names().map((t) => registry.get(t).root)), deps.layout) ? root : undefined;
}

/** The other targets that build in `root`, own it or are served one of its snapshots, by name. */
function usersOf(deps: RemoveTargetDeps, root: string, except: string): string[] {
  const { registry, builds } = deps;
  const uses = (t: string) => builds.rootOf(t) === root || registry.get(t).root === root || builds.snapshots.publishedRoot(t) === root;
  return registry.names().filter((t) => t !== except && uses(t));
}

/** Cancels every queued, then the running, build of `root`; returns their ids. */
async function cancelBuilds(deps: RemoveTargetDeps, root: string, name: string): Promise<number[]> {
  const active = deps.builds.store.list(root).filter((b) => b.status === BuildStatus.BUILD_STATUS_QUEUED || b.status === BuildStatus.BUILD_STATUS_RUNNING);
  // Queued ones first: cancelling the running build first would start the next one.
  active.sort((a, b) => Number(a.status === BuildStatus.BUILD_STATUS_RUNNING) - Number(b.status === BuildStatus.BUILD_STATUS_RUNNING));
  for (const b of active) await deps.builds.queue.cancel(root, b.id, `target ${name} removed`);
  return active.map((b) => b.id);
}

/**
 * Renames each existing dir of `dirs` into one fresh removal dir, in order, then deletes it.
 * A failed rename puts back what was already moved. Returns whether anything was there.
 */
async function moveAndDelete(layout: HostLayout, dirs: string[]): Promise<boolean> {
  const trash = layout.removingDir(randomBytes(6).toString('hex'));
  await mkdir(trash, { mode: 0o700 });
  const moved: [string, string][] = [];
  try {
    for (const [i, dir] of dirs.entries()) {
      const to = join(trash, String(i));
      try {
        await rename(dir, to);
        moved.push([dir, to]);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
    }
  } catch (err) {
    for (const [dir, to] of moved.reverse()) await rename(to, dir);
    await rm(trash, { recursive: true, force: true });
    throw err;
  }
  // Gone from where anything looks; a failure to delete now only leaves a dir for sweepRemovals.
  await rm(trash, { recursive: true, force: true }).catch(() => undefined);
  return moved.length > 0;
}

/** Deletes what an interrupted removal left in the state dir (host killed between rename and rm). */
export async function sweepRemovals(layout: HostLayout): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(layout.stateDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    if (e.startsWith(HostLayout.REMOVING_PREFIX)) await rm(join(layout.stateDir, e), { recursive: true, force: true });
  }
}
