import type { CollectGarbageRequest, CollectGarbageResponse, GetDiskUsageRequest, GetDiskUsageResponse } from '@binhost/shared';
import type { BuildSystem } from '../build/build-system.js';
import type { TargetRegistry } from '../registry/target-registry.js';

/** What the retention RPCs need. */
export interface GcHandlerDeps {
  registry: TargetRegistry;
  builds: BuildSystem;
}

/** The roots a request names: the target's (the one it builds in and the one it is served from), or every root. */
async function rootsOf(deps: GcHandlerDeps, target: string): Promise<string[]> {
  if (!target) return deps.builds.gc.roots();
  deps.registry.get(target); // NOT_FOUND for an unknown name
  const existing = new Set(await deps.builds.gc.roots());
  return [...new Set([deps.builds.rootOf(target), deps.builds.snapshots.publishedRoot(target)])].filter((r): r is string => !!r && existing.has(r));
}

/** AdminService.GetDiskUsage (`binhostctl df`). */
export async function getDiskUsage(deps: GcHandlerDeps, req: GetDiskUsageRequest): Promise<GetDiskUsageResponse> {
  const roots = await rootsOf(deps, req.target);
  return { roots: await Promise.all(roots.map((r) => deps.builds.gc.usage(r))) };
}

/** AdminService.CollectGarbage (`binhostctl gc [--dry-run]`): one root after the other. */
export async function collectGarbage(deps: GcHandlerDeps, req: CollectGarbageRequest): Promise<CollectGarbageResponse> {
  const results = [];
  for (const root of await rootsOf(deps, req.target)) results.push(await deps.builds.gc.collect(root, { dryRun: req.dryRun }));
  return { roots: results, dryRun: req.dryRun };
}
