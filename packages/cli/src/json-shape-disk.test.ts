import { describe, expect, it } from 'vitest';
import { pin } from './json-shape.test-helpers.js';

/** The `--json` documents of df and gc (json-shape.test-helpers.ts). */
describe('binhostctl --json', () => {
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
});
