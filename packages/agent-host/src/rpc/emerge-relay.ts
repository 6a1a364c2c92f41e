import {
  AgentError,
  AsyncQueue,
  FailedPreconditionError,
  type Build,
  type EmergeRequest,
  type EmergeResponse,
  type Snapshot,
} from '@binhost/shared';
import { status } from '@grpc/grpc-js';
import type { ActivityHub, ActivityItem } from '../delivery/activity-hub.js';
import { triggerSync, type SyncAdminDeps } from './sync-admin.js';

/** Runs a build of ARGS for a target and publishes its snapshot (the host's build queue). */
export interface EmergeBuilder {
  /**
   * Builds `args` for `target`, calling `onLine` per output line, and resolves when the build
   * ended with the build record and the snapshot it published (undefined when it failed).
   */
  build(
    target: string,
    args: readonly string[],
    hooks: { signal: AbortSignal; onStarted(build: Build): void; onLine(line: string): void },
  ): Promise<{ build: Build; snapshot: Snapshot | undefined }>;
}

/** What the Emerge relay needs. */
export interface EmergeRelayDeps extends SyncAdminDeps {
  activity: ActivityHub;
  /** Undefined until the host has a build queue: Emerge then fails with FAILED_PRECONDITION. */
  builder: EmergeBuilder | undefined;
}

type Item = NonNullable<EmergeResponse['item']>;

/**
 * AdminService.Emerge, the guide's "keeping in sync" script: build ARGS on the host, then have
 * the target install the same ARGS (confirmed, whatever its policy), relaying both outputs live.
 * Ends with `install_finished`.
 */
export async function* emergeRelay(deps: EmergeRelayDeps, req: EmergeRequest, signal: AbortSignal): AsyncGenerator<EmergeResponse> {
  deps.registry.get(req.target);
  if (!deps.builder) throw new FailedPreconditionError('this host has no build queue: Emerge is not available');
  // Refused before any build: the install half needs the target's event stream.
  if (!deps.registry.isConnected(req.target)) {
    throw new FailedPreconditionError(`${req.target} is not connected: emerge needs it connected, nothing was built`);
  }
  const out = new AsyncQueue<Item>();
  const emit = (item: Item) => out.push(item);
  const building = deps.builder
    .build(req.target, req.args, {
      signal,
      onStarted: (build) => emit({ $case: 'buildStarted', value: build }),
      onLine: (line) => emit({ $case: 'buildLogLine', value: line }),
    })
    .finally(() => out.close());
  building.catch(() => undefined); // observed below
  for await (const item of out.drain(signal)) yield { item };
  const { build, snapshot } = await building;
  yield { item: { $case: 'buildFinished', value: build } };
  if (!snapshot) throw new AgentError(`build ${build.id} of ${req.target} failed: ${build.error || `exit ${build.exitCode}`}`, status.ABORTED);
  yield { item: { $case: 'snapshotPublished', value: snapshot } };
  yield* relayInstall(deps, req, signal);
}

/** Triggers a confirmed sync and relays the target's activity until its install result arrives. */
async function* relayInstall(deps: EmergeRelayDeps, req: EmergeRequest, signal: AbortSignal): AsyncGenerator<EmergeResponse> {
  const items = new AsyncQueue<ActivityItem>();
  const unwatch = deps.activity.watch(req.target, (i) => items.push(i));
  try {
    const sync = triggerSync(deps, { target: req.target, confirmed: true, args: req.args }, 'binhostctl emerge');
    if (!sync.delivered) {
      // It left during the build: the host is reachable, the target is not.
      throw new FailedPreconditionError(`${req.target} is not connected: it installs by its policy when it reconnects`);
    }
    for await (const i of items.drain(signal)) {
      if (i.kind === 'install') {
        if (i.result.requestId !== sync.requestId) continue;
        yield { item: { $case: 'installFinished', value: i.result } };
        return;
      }
      if (i.request.requestId !== sync.requestId) continue;
      const a = i.request.activity;
      if (!a) continue;
      if (a.$case === 'logLine') yield { item: { $case: 'installLogLine', value: a.value } };
      else if (a.$case === 'transfer') yield { item: { $case: 'transfer', value: a.value } };
      else if (a.$case === 'plan') yield { item: { $case: 'plan', value: a.value } };
      else yield { item: { $case: 'stage', value: a.value } };
    }
  } finally {
    unwatch();
    items.close();
  }
}
