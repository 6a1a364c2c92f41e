import {
  assertReportedFacts,
  assertReportedHostname,
  InvalidArgumentError,
  reportRefusal,
  installPolicyFromJSON,
  InstallPolicy,
  type Handlers,
  type TargetServiceService,
  type OpenEventsResponse,
  type SigningKey,
} from '@binhost/shared';
import type { TargetRegistry } from '../registry/target-registry.js';
import type { EventHub } from '../events/event-hub.js';
import type { PublicationSource } from '../delivery/publication-source.js';
import type { ActivityHub } from '../delivery/activity-hub.js';
import type { InstallReports } from '../delivery/install-reports.js';
import { getPublication } from './get-publication.js';
import { fetchFile } from './fetch-file.js';
import { openStreamAndTakeQueued } from '../delivery/sync-queue.js';

/** The version this host reports to targets. */
const HOST_VERSION = '0.1.0';

/** What the target-facing service needs from the rest of the host. */
export interface TargetServiceDeps {
  registry: TargetRegistry;
  hub: EventHub;
  /** The snapshot published for a target, 0 if none. */
  publishedSnapshotId(target: string): number;
  /** The signing key the caller must trust (BuildSystem.signingKeyOf). */
  signingKey(target: string): Promise<{ key: SigningKey }>;
  /** Published snapshots (serving). */
  publications: PublicationSource;
  /** Relays target activity to watchers. */
  activity: ActivityHub;
  /** Stores install results. */
  installs: InstallReports;
  /** The host's `repos.skew_policy` is `hold` now: told to each target when it registers. @default never */
  holdOnRepoSkew?: () => boolean;
}

/**
 * TargetService handlers. The caller's name always comes from its certificate (`ctx.identity`),
 * never from the request, so a target can only ever act on its own record.
 */
export function targetServiceHandlers(deps: TargetServiceDeps): Handlers<typeof TargetServiceService> {
  const { registry, hub } = deps;
  return {
    async register(req, ctx) {
      const name = ctx.identity.name;
      assertReportedHostname(req.hostname);
      const record = await registry.update(name, (r) => {
        r.lastSeen = new Date().toISOString();
        r.hostname = req.hostname;
        r.installedSnapshotId = req.installedSnapshotId;
      });
      ctx.log.info({ target: name, hostname: record.hostname }, 'target registered');
      return {
        targetName: name,
        hostVersion: HOST_VERSION,
        storedDigest: registry.currentDigest(name) ?? '',
        installPolicy: record.installPolicy ? installPolicyFromJSON(`INSTALL_POLICY_${record.installPolicy.toUpperCase()}`) : InstallPolicy.INSTALL_POLICY_UNSPECIFIED,
        publishedSnapshotId: deps.publishedSnapshotId(name),
        holdOnRepoSkew: deps.holdOnRepoSkew?.() ?? false,
      };
    },

    async reportState(req, ctx) {
      // A target is untrusted input. Its report is checked before anything else is done with it —
      // size and entry count (already when it was decoded), then the grammar of every reported
      // fact — so a refused one is neither stored nor passed to any program.
      try {
        const overLimit = reportRefusal(req);
        if (overLimit) throw overLimit;
        if (!req.state) throw new InvalidArgumentError('ReportState needs a state');
        assertReportedFacts(req.state);
      } catch (err) {
        ctx.log.warn({ target: ctx.identity.name, reason: (err as Error).message }, 'state report refused');
        throw err;
      }
      const result = await registry.acceptState(ctx.identity.name, req.state);
      if (result.changed) hub.publish(ctx.identity.name, { $case: 'stateAccepted', value: { digest: result.digest } });
      return result;
    },

    async *openEvents(_req, ctx): AsyncGenerator<OpenEventsResponse> {
      const name = ctx.identity.name;
      // a stream left over from a dropped connection, or a second agent with this certificate:
      // the admin is told, since two agents reporting as one overwrite each other's state
      if (hub.streams(name) > 0) ctx.log.warn({ target: name, streams: hub.streams(name) + 1 }, 'target opened another event stream while one is open: a reconnect, or two agents using the same certificate');
      const sub = hub.subscribe(name);
      // marks it seen; a sync requested while it was away goes into `sub`, to follow the hello
      await openStreamAndTakeQueued(deps, name, ctx.log);
      ctx.log.info({ target: name }, 'event stream opened');
      try {
        yield {
          sequence: 0,
          at: new Date(),
          event: { $case: 'hello', value: { targetName: name, publishedSnapshotId: deps.publishedSnapshotId(name) } },
        };
        yield* sub.drain(ctx.signal);
      } finally {
        sub.unsubscribe();
        await registry.touch(name).catch(() => undefined);
        ctx.log.info({ target: name }, 'event stream closed');
      }
    },

    getPublication: (req, ctx) => getPublication(deps.publications, ctx.identity.name, req),
    fetchFile: (req, ctx) => fetchFile(deps.publications, ctx.identity.name, req, ctx.signal),
    getSigningKey: (_req, ctx) => deps.signingKey(ctx.identity.name),
    async streamActivity(requests, ctx) {
      for await (const request of requests) deps.activity.publish(ctx.identity.name, { kind: 'activity', request });
      return {};
    },
    async reportInstall(req, ctx) {
      await deps.installs.report(ctx.identity.name, req.result);
      return {};
    },
  };
}
