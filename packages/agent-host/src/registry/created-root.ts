import { existsSync } from 'node:fs';
import type { HostLayout } from '../layout.js';

/**
 * Whether `root` was created (`target add`): a target's record names it, or it is on disk —
 * `target remove` without --purge keeps root NAME, and NAME registering again builds in it (the
 * auto-builder builds in any root that exists), so `targets` and `target remove` name it too.
 */
export function rootCreated(root: string, namedRoots: ReadonlySet<string | undefined>, layout: HostLayout): boolean {
  return namedRoots.has(root) || existsSync(layout.rootDir(root));
}
