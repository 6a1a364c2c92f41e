import { Readable, Writable } from 'node:stream';
import { expect } from 'vitest';
import {
  AddTargetResponse,
  AppliedConfig,
  Build,
  BuildKind,
  BuildStatus,
  DiffTargetResponse,
  EmergeResponse,
  FileChange,
  FollowBuildLogResponse,
  GetTargetResponse,
  InstallOutcome,
  RemoveTargetResponse,
  Snapshot,
  TargetSummary,
  type AdminServiceClient,
} from '@binhost/shared';
import { COMMANDS, dispatch } from './dispatch.js';

/**
 * The `--json` interface, pinned: the shape (keys and value types) of every command's document,
 * one json-shape-*.test.ts per group of commands, and json-shape-coverage.test.ts checking that
 * every command has one. A change here is a change of the documented interface (README, "JSON
 * output"): add keys freely, but removing or retyping one needs a new JSON_VERSION.
 */

// Lists hold one element and times are set, so the shape shows their types; the rest keeps its defaults.
const t = new Date(0);
const build = Build.fromPartial({ id: 3, target: 'alpha', kind: BuildKind.BUILD_KIND_MANUAL, status: BuildStatus.BUILD_STATUS_SUCCEEDED, queuedAt: t, args: ['x'], logTail: ['x'] });
const snapshot = Snapshot.fromPartial({ id: 2, root: 'alpha', totalBytes: 1234n, createdAt: t });
const summary = TargetSummary.fromPartial({ name: 'alpha', damaged: [{}], sharesRootWith: ['beta'], lastSeen: t });

/** A stand-in host: each RPC answers with a message where most fields keep their defaults. */
function fakeClient(): AdminServiceClient {
  const unary = (res: unknown) => (_req: unknown, _md: unknown, _opts: unknown, cb: (e: null, r: unknown) => void) => {
    setImmediate(() => cb(null, res));
    return { cancel() {} };
  };
  const stream = (items: unknown[]) => () => Object.assign(Readable.from(items), { cancel() {} });
  const client = {
    close() {},
    listTargets: unary({ targets: [summary] }),
    getTarget: unary(
      GetTargetResponse.fromPartial({
        summary,
        state: { digest: 'sha256:00', collectedAt: t, cpuFlagsX86: ['aes'], warnings: ['w'], nativeFlags: { known: true, march: 'znver3', featureFlags: ['-mmmx'], params: ['--param=l1-cache-size=32'] } },
        applied: AppliedConfig.fromPartial({ root: 'alpha', appliedAt: t, rewrites: [{}], warnings: ['w'] }),
        history: [{ digest: 'sha256:00', reportedAt: t }],
        march: { march: 'znver3', mtune: 'znver3', differingFlags: ['-mno-avx512f'], impliedCount: 80, compiler: 'gcc' },
        lastInstall: { outcome: InstallOutcome.INSTALL_OUTCOME_INSTALLED, finishedAt: t, logTail: ['x'], differingFiles: ['f'], plan: { packages: [{}], args: ['x'], problems: ['p'] } },
      }),
    ),
    diffTarget: unary(
      DiffTargetResponse.fromPartial({
        files: [{ change: FileChange.FILE_CHANGE_MODIFIED }],
        ...Object.fromEntries(['worldAdded', 'worldRemoved', 'flagsAdded', 'flagsRemoved', 'cpuFlagsAdded', 'cpuFlagsRemoved'].map((k) => [k, ['x']])),
      }),
    ),
    removeTarget: unary(RemoveTargetResponse.fromPartial({ root: 'alpha', sharedWith: ['beta'], cancelledBuilds: [1] })),
    setInstallPolicy: unary({}),
    listBuilds: unary({ builds: [build] }),
    triggerBuild: unary({ build }),
    cancelBuild: unary({ build }),
    listSnapshots: unary({ snapshots: [snapshot], publishedSnapshotId: 2 }),
    publishSnapshot: unary({ snapshot }),
    getDiskUsage: unary({ roots: [{ root: 'alpha', targets: ['alpha'], pkgdirBytes: 10n, snapshotsBytes: 1n, buildLogsBytes: 2n, reclaimableBytes: 3n, instances: 4, removableInstances: 2, snapshots: 3, removableSnapshots: 0, builds: 5, removableBuilds: 1 }] }),
    collectGarbage: unary({ dryRun: true, roots: [{ root: 'alpha', freedBytes: 3n, removedInstances: ['app-misc/hello/hello-1.0-1.gpkg.tar'], removedSnapshots: [1], removedBuilds: [1], skipped: '' }] }),
    triggerSync: unary({ requestId: 'r1', delivered: true }),
    followBuildLog: stream([
      FollowBuildLogResponse.fromPartial({ item: { $case: 'build', value: build } }),
      FollowBuildLogResponse.fromPartial({ item: { $case: 'line', value: '>>> Emerging' } }),
      FollowBuildLogResponse.fromPartial({ item: { $case: 'finished', value: build } }),
    ]),
    emerge: stream([
      EmergeResponse.fromPartial({ item: { $case: 'buildStarted', value: build } }),
      EmergeResponse.fromPartial({ item: { $case: 'buildLogLine', value: 'x' } }),
      EmergeResponse.fromPartial({ item: { $case: 'snapshotPublished', value: snapshot } }),
      EmergeResponse.fromPartial({ item: { $case: 'transfer', value: { bytesTotal: 10n } } }),
      EmergeResponse.fromPartial({ item: { $case: 'stage', value: 'mirroring' } }),
      EmergeResponse.fromPartial({ item: { $case: 'plan', value: { packages: [{}] } } }),
      EmergeResponse.fromPartial({ item: { $case: 'installLogLine', value: 'x' } }),
      EmergeResponse.fromPartial({ item: { $case: 'buildFinished', value: build } }),
      EmergeResponse.fromPartial({ item: { $case: 'installFinished', value: { outcome: InstallOutcome.INSTALL_OUTCOME_INSTALLED } } }),
    ]),
    addTarget: (_md: unknown, _opts: unknown, cb: (e: null, r: unknown) => void) =>
      Object.assign(new Writable({ objectMode: true, write: (_c, _e, done) => done(), final: (done) => (done(), cb(null, AddTargetResponse.fromPartial({ disabledBinhosts: ['x'] }))) }), { cancel() {} }),
  };
  return client as unknown as AdminServiceClient;
}

/** Value → its type, recursively: the part of a document the interface promises. */
export function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

/** Runs `binhostctl --json ARGV` against the stand-in host: its document, or its JSON Lines. */
export async function json(...argv: string[]): Promise<unknown[]> {
  const out = await stdoutOf(...argv);
  // a document, or JSON Lines for the streaming commands
  return out.trimStart().startsWith('{\n') ? [JSON.parse(out)] : out.trim().split('\n').map((l) => JSON.parse(l) as unknown);
}

/** What `binhostctl --json ARGV` prints on stdout against the stand-in host, as is. */
export async function stdoutOf(...argv: string[]): Promise<string> {
  let out = '';
  const stdout = new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) });
  const stderr = new Writable({ write: (_c, _e, cb) => cb() });
  const code = await dispatch(['--json', ...argv], { stdout, stderr, admin: () => Promise.resolve(fakeClient()) });
  expect(code, argv.join(' ')).toBe(0);
  return out;
}

/**
 * The shape of what `binhostctl --json ARGV` prints, each document checked for its version.
 * json-shape-coverage.test.ts reads the `pin([...])` calls of the json-shape-*.test.ts files:
 * keep ARGV a literal list starting with the command's words.
 */
export async function pin(argv: string[]): Promise<unknown> {
  const line = `${argv.join(' ')} `;
  expect(COMMANDS.some((c) => line.startsWith(`${c.name} `)), `${line}is a command`).toBe(true);
  const docs = await json(...argv);
  for (const d of docs) expect(d).toMatchObject({ version: 1 });
  return docs.length === 1 ? shape(docs[0]) : docs.map(shape);
}
