import { BuildStatus, silentLogger, type Build, type CallContext } from '@binhost/shared';
import type { BuildSystem } from '../build/build-system.js';
import type { TargetRegistry } from '../registry/target-registry.js';
import { followBuildLog } from '../services/build-handlers.js';
import type { EmergeBuilder } from './emerge-relay.js';

/**
 * The build step of `binhostctl emerge` on the host's build queue: queue a manual build of ARGS,
 * follow its log live (as FollowBuildLog does), and hand back the snapshot the queue published
 * from it. A build the queue coalesced into an earlier request is followed the same way.
 */
export function buildSystemBuilder(deps: { registry: TargetRegistry; builds: BuildSystem }): EmergeBuilder {
  return {
    async build(target, args, hooks) {
      const queued = await deps.builds.trigger(target, args);
      hooks.onStarted(queued);
      const ctx = { signal: hooks.signal, log: silentLogger(), method: 'Emerge', identity: { role: 'admin', name: 'emerge' } } as CallContext;
      let finished: Build = queued;
      for await (const res of followBuildLog(deps, { target, buildId: queued.id, follow: true }, ctx)) {
        const item = res.item;
        if (item?.$case === 'line') hooks.onLine(item.value);
        else if (item?.$case === 'finished') finished = item.value;
      }
      const root = deps.builds.rootOf(target);
      const build = deps.builds.store.get(root, queued.id) ?? finished;
      const ok = build.status === BuildStatus.BUILD_STATUS_SUCCEEDED && build.snapshotId > 0;
      return { build, snapshot: ok ? await deps.builds.snapshots.read(root, build.snapshotId) : undefined };
    },
  };
}
