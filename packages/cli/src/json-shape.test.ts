import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
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
 * The `--json` interface, pinned: the shape (keys and value types) of every command's document.
 * A change here is a change of the documented interface (README, "JSON output"): add keys freely,
 * but removing or retyping one needs a new JSON_VERSION.
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
function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

let dir = '';
async function json(...argv: string[]): Promise<unknown[]> {
  let out = '';
  const stdout = new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) });
  const stderr = new Writable({ write: (_c, _e, cb) => cb() });
  const code = await dispatch(['--json', ...argv], { stdout, stderr, admin: () => Promise.resolve(fakeClient()) });
  expect(code, argv.join(' ')).toBe(0);
  // a document, or JSON Lines for the streaming commands
  return out.trimStart().startsWith('{\n') ? [JSON.parse(out)] : out.trim().split('\n').map((l) => JSON.parse(l) as unknown);
}

const covered = new Set<string>();
async function pin(argv: string[]): Promise<unknown> {
  const line = `${argv.join(' ')} `;
  covered.add(COMMANDS.find((c) => line.startsWith(`${c.name} `))!.name);
  const docs = await json(...argv);
  for (const d of docs) expect(d).toMatchObject({ version: 1 });
  return docs.length === 1 ? shape(docs[0]) : docs.map(shape);
}

describe('binhostctl --json', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhostctl-json-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('status and targets: every key of a target, defaults included, enums as words', async () => {
    expect(await pin(['status'])).toMatchInlineSnapshot(`
      {
        "targets": [
          {
            "builtDigest": "string",
            "configDigest": "string",
            "connected": "boolean",
            "damaged": [
              {
                "file": "string",
                "problem": "string",
                "remedy": "string",
              },
            ],
            "hostname": "string",
            "installPolicy": "string",
            "installedSnapshotId": "number",
            "lastBuildStatus": "string",
            "lastError": "string",
            "lastSeen": "string",
            "name": "string",
            "publishedSnapshotId": "number",
            "queuedSync": "null",
            "repoSkew": "string",
            "root": "string",
            "sharesRootWith": [
              "string",
            ],
            "stale": "boolean",
          },
        ],
        "version": "number",
      }
    `);
    expect(await pin(['targets'])).toEqual(await pin(['status']));
    const [doc] = (await json('status')) as [{ targets: Record<string, unknown>[] }];
    expect(doc.targets[0]).toMatchObject({ lastError: '', installPolicy: 'default', lastBuildStatus: 'unknown', queuedSync: null, lastSeen: '1970-01-01T00:00:00.000Z' });
  });

  it('target show, config, diff, add, remove', async () => {
    expect(await pin(['target', 'show', 'alpha'])).toMatchInlineSnapshot(`
      {
        "history": [
          {
            "digest": "string",
            "reportedAt": "string",
          },
        ],
        "lastInstall": {
          "differingFiles": [
            "string",
          ],
          "error": "string",
          "exitCode": "number",
          "finishedAt": "string",
          "logTail": [
            "string",
          ],
          "outcome": "string",
          "plan": {
            "args": [
              "string",
            ],
            "binaryOnly": "boolean",
            "packages": [
              {
                "buildId": "string",
                "cpv": "string",
                "flags": "string",
                "kind": "string",
                "line": "string",
              },
            ],
            "problems": [
              "string",
            ],
            "snapshotId": "number",
          },
          "requestId": "string",
          "snapshotId": "number",
        },
        "march": {
          "compiler": "string",
          "differingFlags": [
            "string",
          ],
          "error": "string",
          "flags": "string",
          "impliedCount": "number",
          "march": "string",
          "mtune": "string",
        },
        "name": "string",
        "state": {
          "arch": "string",
          "chost": "string",
          "collectedAt": "string",
          "cpuFlagsX86": [
            "string",
          ],
          "digest": "string",
          "files": "number",
          "gccVersion": "string",
          "hostname": "string",
          "kernelRelease": "string",
          "lastReport": "string",
          "nativeFlags": {
            "compiler": "string",
            "error": "string",
            "featureFlags": [
              "string",
            ],
            "known": "boolean",
            "march": "string",
            "mtune": "string",
            "params": [
              "string",
            ],
          },
          "profile": "string",
          "warnings": [
            "string",
          ],
          "world": {
            "atoms": "number",
            "sets": "number",
          },
        },
        "target": {
          "builtDigest": "string",
          "configDigest": "string",
          "connected": "boolean",
          "damaged": [
            {
              "file": "string",
              "problem": "string",
              "remedy": "string",
            },
          ],
          "hostname": "string",
          "installPolicy": "string",
          "installedSnapshotId": "number",
          "lastBuildStatus": "string",
          "lastError": "string",
          "lastSeen": "string",
          "name": "string",
          "publishedSnapshotId": "number",
          "queuedSync": "null",
          "repoSkew": "string",
          "root": "string",
          "sharesRootWith": [
            "string",
          ],
          "stale": "boolean",
        },
        "version": "number",
      }
    `);
    expect(await pin(['target', 'config', 'alpha'])).toMatchInlineSnapshot(`
      {
        "applied": {
          "appliedAt": "string",
          "digest": "string",
          "makeConf": "string",
          "rewrites": [
            {
              "after": "string",
              "before": "string",
              "file": "string",
              "key": "string",
              "reason": "string",
            },
          ],
          "root": "string",
          "warnings": [
            "string",
          ],
        },
        "march": {
          "compiler": "string",
          "differingFlags": [
            "string",
          ],
          "error": "string",
          "flags": "string",
          "impliedCount": "number",
          "march": "string",
          "mtune": "string",
        },
        "name": "string",
        "version": "number",
      }
    `);
    expect(await pin(['target', 'diff', 'alpha'])).toMatchInlineSnapshot(`
      {
        "cpuFlagsAdded": [
          "string",
        ],
        "cpuFlagsRemoved": [
          "string",
        ],
        "files": [
          {
            "change": "string",
            "path": "string",
            "unifiedDiff": "string",
          },
        ],
        "flagsAdded": [
          "string",
        ],
        "flagsRemoved": [
          "string",
        ],
        "fromDigest": "string",
        "name": "string",
        "profileAfter": "string",
        "profileBefore": "string",
        "toDigest": "string",
        "version": "number",
        "worldAdded": [
          "string",
        ],
        "worldRemoved": [
          "string",
        ],
      }
    `);
    expect(await pin(['target', 'add', 'alpha', '--stage3', 'https://example.org/stage3.tar.xz'])).toMatchInlineSnapshot(`
      {
        "disabledBinhosts": [
          "string",
        ],
        "entriesExtracted": "number",
        "name": "string",
        "rootPath": "string",
        "version": "number",
      }
    `);
    expect(await pin(['target', 'remove', 'alpha'])).toMatchInlineSnapshot(`
      {
        "cancelledBuilds": [
          "number",
        ],
        "name": "string",
        "ownRoot": "string",
        "ownRootRemoved": "boolean",
        "root": "string",
        "rootRemoved": "boolean",
        "sharedWith": [
          "string",
        ],
        "version": "number",
      }
    `);
  });

  it('builds, build, cancel, logs (JSON Lines), snapshots, publish, history', async () => {
    expect(await pin(['builds'])).toMatchInlineSnapshot(`
      {
        "builds": [
          {
            "args": [
              "string",
            ],
            "configDigest": "string",
            "distcc": "null",
            "error": "string",
            "exitCode": "number",
            "finishedAt": "null",
            "id": "number",
            "kind": "string",
            "logTail": [
              "string",
            ],
            "packages": [],
            "progress": {
              "currentPackage": "string",
              "packageCount": "number",
              "packageIndex": "number",
              "phase": "string",
            },
            "queuedAt": "string",
            "root": "string",
            "snapshotId": "number",
            "startedAt": "null",
            "status": "string",
            "target": "string",
          },
        ],
        "version": "number",
      }
    `);
    const [doc] = (await json('builds')) as [{ builds: Record<string, unknown>[] }];
    expect(doc.builds[0]).toMatchObject({ status: 'succeeded', kind: 'manual', error: '', snapshotId: 0, queuedAt: '1970-01-01T00:00:00.000Z', startedAt: null });
    expect(await pin(['build', 'alpha'])).toEqual({ version: 'number', build: (shape(doc) as { builds: unknown[] }).builds[0] });
    expect(await pin(['cancel', 'alpha'])).toEqual(await pin(['build', 'alpha']));
    expect(await pin(['logs', 'alpha'])).toMatchInlineSnapshot(`
      [
        {
          "build": {
            "args": [
              "string",
            ],
            "configDigest": "string",
            "distcc": "null",
            "error": "string",
            "exitCode": "number",
            "finishedAt": "null",
            "id": "number",
            "kind": "string",
            "logTail": [
              "string",
            ],
            "packages": [],
            "progress": {
              "currentPackage": "string",
              "packageCount": "number",
              "packageIndex": "number",
              "phase": "string",
            },
            "queuedAt": "string",
            "root": "string",
            "snapshotId": "number",
            "startedAt": "null",
            "status": "string",
            "target": "string",
          },
          "event": "string",
          "version": "number",
        },
        {
          "event": "string",
          "text": "string",
          "version": "number",
        },
        {
          "build": {
            "args": [
              "string",
            ],
            "configDigest": "string",
            "distcc": "null",
            "error": "string",
            "exitCode": "number",
            "finishedAt": "null",
            "id": "number",
            "kind": "string",
            "logTail": [
              "string",
            ],
            "packages": [],
            "progress": {
              "currentPackage": "string",
              "packageCount": "number",
              "packageIndex": "number",
              "phase": "string",
            },
            "queuedAt": "string",
            "root": "string",
            "snapshotId": "number",
            "startedAt": "null",
            "status": "string",
            "target": "string",
          },
          "event": "string",
          "version": "number",
        },
      ]
    `);
    expect(await pin(['snapshots', 'alpha'])).toMatchInlineSnapshot(`
      {
        "publishedSnapshotId": "number",
        "snapshots": [
          {
            "buildId": "number",
            "builtDigest": "string",
            "createdAt": "string",
            "id": "number",
            "packageCount": "number",
            "root": "string",
            "totalBytes": "number",
          },
        ],
        "version": "number",
      }
    `);
    expect(await pin(['publish', 'alpha', '--snapshot', '2'])).toMatchInlineSnapshot(`
      {
        "snapshot": {
          "buildId": "number",
          "builtDigest": "string",
          "createdAt": "string",
          "id": "number",
          "packageCount": "number",
          "root": "string",
          "totalBytes": "number",
        },
        "target": "string",
        "version": "number",
      }
    `);
    expect(await pin(['history', 'alpha'])).toMatchInlineSnapshot(`
      {
        "builds": [
          {
            "args": [
              "string",
            ],
            "configDigest": "string",
            "distcc": "null",
            "error": "string",
            "exitCode": "number",
            "finishedAt": "null",
            "id": "number",
            "kind": "string",
            "logTail": [
              "string",
            ],
            "packages": [],
            "progress": {
              "currentPackage": "string",
              "packageCount": "number",
              "packageIndex": "number",
              "phase": "string",
            },
            "queuedAt": "string",
            "root": "string",
            "snapshotId": "number",
            "startedAt": "null",
            "status": "string",
            "target": "string",
          },
        ],
        "history": [
          {
            "digest": "string",
            "reportedAt": "string",
          },
        ],
        "name": "string",
        "version": "number",
      }
    `);
  });

  it('sync, policy, emerge (JSON Lines)', async () => {
    expect(await pin(['sync', 'alpha'])).toMatchInlineSnapshot(`
      {
        "confirmed": "boolean",
        "delivered": "boolean",
        "requestId": "string",
        "target": "string",
        "version": "number",
      }
    `);
    expect(await pin(['policy', 'alpha', 'off'])).toMatchInlineSnapshot(`
      {
        "installPolicy": "string",
        "target": "string",
        "version": "number",
      }
    `);
    expect(await pin(['emerge', 'alpha', '--', 'app-misc/hello'])).toMatchInlineSnapshot(`
      [
        {
          "build": {
            "args": [
              "string",
            ],
            "configDigest": "string",
            "distcc": "null",
            "error": "string",
            "exitCode": "number",
            "finishedAt": "null",
            "id": "number",
            "kind": "string",
            "logTail": [
              "string",
            ],
            "packages": [],
            "progress": {
              "currentPackage": "string",
              "packageCount": "number",
              "packageIndex": "number",
              "phase": "string",
            },
            "queuedAt": "string",
            "root": "string",
            "snapshotId": "number",
            "startedAt": "null",
            "status": "string",
            "target": "string",
          },
          "event": "string",
          "version": "number",
        },
        {
          "event": "string",
          "text": "string",
          "version": "number",
        },
        {
          "event": "string",
          "snapshot": {
            "buildId": "number",
            "builtDigest": "string",
            "createdAt": "string",
            "id": "number",
            "packageCount": "number",
            "root": "string",
            "totalBytes": "number",
          },
          "version": "number",
        },
        {
          "event": "string",
          "progress": {
            "bytesDone": "number",
            "bytesTotal": "number",
            "filesDone": "number",
            "filesTotal": "number",
            "path": "string",
          },
          "version": "number",
        },
        {
          "event": "string",
          "text": "string",
          "version": "number",
        },
        {
          "event": "string",
          "plan": {
            "args": [],
            "binaryOnly": "boolean",
            "packages": [
              {
                "buildId": "string",
                "cpv": "string",
                "flags": "string",
                "kind": "string",
                "line": "string",
              },
            ],
            "problems": [],
            "snapshotId": "number",
          },
          "version": "number",
        },
        {
          "event": "string",
          "text": "string",
          "version": "number",
        },
        {
          "build": {
            "args": [
              "string",
            ],
            "configDigest": "string",
            "distcc": "null",
            "error": "string",
            "exitCode": "number",
            "finishedAt": "null",
            "id": "number",
            "kind": "string",
            "logTail": [
              "string",
            ],
            "packages": [],
            "progress": {
              "currentPackage": "string",
              "packageCount": "number",
              "packageIndex": "number",
              "phase": "string",
            },
            "queuedAt": "string",
            "root": "string",
            "snapshotId": "number",
            "startedAt": "null",
            "status": "string",
            "target": "string",
          },
          "event": "string",
          "version": "number",
        },
        {
          "event": "string",
          "result": {
            "differingFiles": [],
            "error": "string",
            "exitCode": "number",
            "finishedAt": "null",
            "logTail": [],
            "outcome": "string",
            "plan": "null",
            "requestId": "string",
            "snapshotId": "number",
          },
          "version": "number",
        },
      ]
    `);
  });

  it('pki init, issue, show', async () => {
    expect(await pin(['pki', 'init', '--dir', dir])).toMatchInlineSnapshot(`
      {
        "files": {
          "ca": "string",
          "key": "string",
        },
        "version": "number",
      }
    `);
    expect(await pin(['pki', 'issue', 'admin', 'root', '--dir', dir])).toMatchInlineSnapshot(`
      {
        "files": {
          "cert": "string",
          "key": "string",
        },
        "version": "number",
      }
    `);
    expect(await pin(['pki', 'show', join(dir, 'ca.pem')])).toMatchInlineSnapshot(`
      {
        "certificate": {
          "fingerprint256": "string",
          "issuer": "string",
          "notAfter": "string",
          "notBefore": "string",
          "subject": "string",
          "subjectAltName": "string",
        },
        "version": "number",
      }
    `);
  });

  it('df, gc', async () => {
    expect(await pin(['df'])).toMatchInlineSnapshot(`
      {
        "roots": [
          {
            "buildLogsBytes": "number",
            "builds": "number",
            "instances": "number",
            "pkgdirBytes": "number",
            "reclaimableBytes": "number",
            "removableBuilds": "number",
            "removableInstances": "number",
            "removableSnapshots": "number",
            "root": "string",
            "snapshots": "number",
            "snapshotsBytes": "number",
            "targets": [
              "string",
            ],
          },
        ],
        "version": "number",
      }
    `);
    expect(await pin(['gc', '--dry-run'])).toMatchInlineSnapshot(`
      {
        "dryRun": "boolean",
        "roots": [
          {
            "freedBytes": "number",
            "removedBuilds": [
              "number",
            ],
            "removedInstances": [
              "string",
            ],
            "removedSnapshots": [
              "number",
            ],
            "root": "string",
            "skipped": "string",
          },
        ],
        "version": "number",
      }
    `);
  });

  it('covers every command that prints JSON', () => {
    expect(COMMANDS.map((c) => c.name).filter((n) => !covered.has(n))).toEqual(['completion']);
  });
});
