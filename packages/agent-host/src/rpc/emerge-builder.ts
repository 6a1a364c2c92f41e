import type { Build } from '@binhost/shared';
import type { BuildSystem } from '../build/build-system.js';
import type { EmergeBuilder } from './emerge-relay.js';
import { followBuildLog } from './build-handlers.js';

/**
 * The build step of `binhostctl emerge NAME -- ARGS` on the real build queue: a manual build of
 * ARGS, its log followed live, and the snapshot it published (undefined when it failed).
 */
export function buildSystemEmergeBuilder(builds: BuildSystem): EmergeBuilder {
  return {
    async build(target, args, hooks) {
      const queued = await builds.trigger(target, args);
      const root = builds.rootOf(target);
      let last: Build = queued;
      const request = { target, buildId: queued.id, follow: true };
      for await (const { item } of followBuildLog({ registry: builds.registry, builds }, request, hooks.signal)) {
        if (item?.$case === 'build') hooks.onStarted(item.value);
        else if (item?.$case === 'line') hooks.onLine(item.value);
        else if (item?.$case === 'finished') last = item.value;
      }
      const build = builds.store.get(root, queued.id) ?? last;
      const snapshot = build.snapshotId ? await builds.snapshots.read(root, build.snapshotId) : undefined;
      return { build, snapshot };
    },
  };
}
