import { describe, expect, it } from 'vitest';
import { json, pin } from './json-shape.test-helpers.js';

/** The `--json` documents of status, targets and the target commands (json-shape.test-helpers.ts). */
describe('binhostctl --json', () => {
  it('status and targets: every key of a target, defaults included, enums as words', async () => {
    expect(await pin(['status'])).toMatchInlineSnapshot(`
      {
        "targets": [
          {
            "awaitingConfirmation": "null",
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
          "awaitingConfirmation": "null",
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
});
