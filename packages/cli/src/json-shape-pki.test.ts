import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pin } from './json-shape.test-helpers.js';

/** The `--json` documents of the pki commands (json-shape.test-helpers.ts). */
describe('binhostctl --json', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhostctl-json-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

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
});
