import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startBuildHost, type BuildHost } from './build-host.js';
import { makePki, type TestPki } from './pki.js';
import { startHost, type StartedHost } from './start-host.js';
import { startTarget, type StartedTarget } from './start-target.js';
import { tmpTree } from './tmp-tree.js';

type HostOptions = Parameters<typeof startHost>[0];
type TargetOptions = Parameters<typeof startTarget>[0];
type BuildHostOptions = Parameters<typeof startBuildHost>[0];
/** `dir` and `pki` default to the harness's. */
type InHarness<T extends { dir: string; pki: TestPki }> = Omit<T, 'dir' | 'pki'> & Partial<Pick<T, 'dir' | 'pki'>>;

/** What every agent test sets up: a temp dir, a PKI in it, and agents that are stopped afterwards. */
export interface Harness {
  /** The temp dir (removed at teardown). */
  readonly dir: string;
  /** A PKI in `<dir>/pki` (unless `pki: false`). */
  readonly pki: TestPki;
  /** Runs `cleanup` at teardown, before everything registered earlier. */
  defer(cleanup: () => unknown): void;
  /** A host agent in `<dir>/host`, stopped at teardown. */
  startHost(options?: InHarness<HostOptions>): Promise<StartedHost>;
  /** A host whose emerge is the stand-in, in `<dir>/host`, stopped at teardown. */
  startBuildHost(options?: InHarness<BuildHostOptions>): Promise<BuildHost>;
  /** A target agent in `<dir>/<name>`, stopped at teardown. */
  startTarget(options: InHarness<TargetOptions>): Promise<StartedTarget>;
}

interface HarnessOptions {
  /** The temp dir's name prefix. @default tmpTree's */
  prefix?: string;
  /** `false`: no PKI (for tests that make their own, or need none). @default true */
  pki?: boolean;
  /** `'all'`: one temp dir, PKI and set of agents for the whole describe block. @default 'each' */
  scope?: 'each' | 'all';
}

/**
 * Registers the set-up and teardown hooks of the enclosing describe block: before each test (or
 * once for the block with `scope: 'all'`) a temp dir and a PKI; after it, whatever was started or
 * deferred, in reverse order, then the temp dir is removed. An agent the test stopped itself is
 * not stopped twice. Hooks the test file registers after this one run after the set-up and before
 * the teardown.
 */
export function useHarness(options: HarnessOptions = {}): Harness {
  let tmp: Awaited<ReturnType<typeof tmpTree>> | undefined;
  let pki: TestPki | undefined;
  let cleanups: (() => unknown)[] = [];

  const setUp = async () => {
    tmp = await tmpTree(options.prefix);
    if (options.pki !== false) pki = await makePki(join(tmp.dir, 'pki'));
  };
  const tearDown = async () => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch((err: unknown) => errors.push(err));
    cleanups = [];
    // unset when tmpTree itself failed: the hook's own error is the one to see
    await tmp?.cleanup().catch((err: unknown) => errors.push(err));
    tmp = pki = undefined;
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'teardown failed');
  };
  if (options.scope === 'all') {
    beforeAll(setUp);
    afterAll(tearDown);
  } else {
    beforeEach(setUp);
    afterEach(tearDown);
  }

  /** Registers `started.stop` and makes it idempotent (a test may stop an agent to restart it). */
  const track = <T extends { stop(): Promise<void> }>(started: T): T => {
    const stop = started.stop.bind(started);
    let stopping: Promise<void> | undefined;
    started.stop = () => (stopping ??= stop());
    cleanups.push(() => started.stop());
    return started;
  };
  const harness: Harness = {
    get dir() {
      if (!tmp) throw new Error('useHarness: no temp dir outside a test or its hooks');
      return tmp.dir;
    },
    get pki() {
      if (!pki) throw new Error(options.pki === false ? 'useHarness({ pki: false }) has no PKI' : 'useHarness: no PKI outside a test or its hooks');
      return pki;
    },
    defer: (cleanup) => void cleanups.push(cleanup),
    startHost: async (o = {}) => track(await startHost({ dir: join(harness.dir, 'host'), pki: harness.pki, ...o })),
    startBuildHost: async (o = {}) => track(await startBuildHost({ dir: join(harness.dir, 'host'), pki: harness.pki, ...o })),
    startTarget: async (o) => track(await startTarget({ dir: join(harness.dir, o.name), pki: harness.pki, ...o })),
  };
  return harness;
}
