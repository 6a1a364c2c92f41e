import { describe, expect, it } from 'vitest';
import { json, pin, shape, stdoutOf } from './json-shape.test-helpers.js';

/** The `--json` documents of the build and snapshot commands (json-shape.test-helpers.ts). */
describe('binhostctl --json', () => {
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

  it('streaming outputs (build -f, logs -f, emerge) are JSON Lines: one object per line, each with its event', async () => {
    for (const argv of [['build', 'alpha', '-f'], ['logs', '-f', 'alpha'], ['logs', 'alpha'], ['emerge', 'alpha', '--', 'x']]) {
      const lines = (await stdoutOf(...argv)).split('\n');
      expect(lines.pop(), argv.join(' ')).toBe('');
      expect(lines.length, argv.join(' ')).toBeGreaterThan(1);
      for (const l of lines) expect(JSON.parse(l), `${argv.join(' ')}: ${l}`).toMatchObject({ version: 1, event: expect.any(String) });
    }
    // build -f: the queued build first, then the log as "logs --json"
    const [queued, ...log] = (await stdoutOf('build', 'alpha', '-f')).trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    expect(queued).toMatchObject({ event: 'queued', build: { kind: 'manual' } });
    expect(log.map((e) => e.event)).toEqual(['build', 'line', 'finished']);
  });
});
