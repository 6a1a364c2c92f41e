import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TargetSummary, type AdminServiceClient } from '@binhost/shared';
import { dispatch } from './dispatch.js';
import { printable } from './terminal-safe.js';

/** What a hostile target can put in its reports: a title change, a C1 CSI clearing the screen, a bell. */
const HOSTILE = 'boom \x1b]0;owned\x07 \u009b2J done';

async function run(...argv: string[]): Promise<string> {
  let out = '';
  const stdout = new Writable({ write: (c, _e, cb) => ((out += Buffer.isBuffer(c) ? c.toString('utf8') : String(c)), cb()) });
  const stderr = new Writable({ write: (_c, _e, cb) => cb() });
  const summary = TargetSummary.fromPartial({ name: 'alpha', lastError: HOSTILE });
  const client = {
    close() {},
    listTargets: (_req: unknown, _md: unknown, _opts: unknown, cb: (e: null, r: unknown) => void) => (setImmediate(() => cb(null, { targets: [summary] })), { cancel() {} }),
  } as unknown as AdminServiceClient;
  expect(await dispatch(argv, { stdout, stderr, admin: () => Promise.resolve(client) })).toBe(0);
  return out;
}

describe('what binhostctl prints from targets', () => {
  it('shows control characters as escapes, never raw, in text output', async () => {
    const out = await run('status', '--verbose');
    expect(out).toContain('boom \\u001b]0;owned\\u0007 \\u009b2J done');
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  it('keeps --json output JSON that reads back to the very text', async () => {
    const out = await run('--json', 'status');
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(JSON.parse(out).targets[0].lastError).toBe(HOSTILE);
  });

  it('keeps tabs, newlines and ordinary text as they are', () => {
    expect(printable('a\tb\nc é ✓')).toBe('a\tb\nc é ✓');
  });
});
