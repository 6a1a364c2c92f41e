import { describe, expect, it } from 'vitest';
import { pin } from './json-shape.test-helpers.js';

/** The `--json` documents of sync, policy and emerge (json-shape.test-helpers.ts). */
describe('binhostctl --json', () => {
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
});
