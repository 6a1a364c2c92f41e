import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Build, BuildKind, BuildStatus, type AdminServiceClient } from '@binhost/shared';
import { dispatch } from '../dispatch.js';

const error = `emerge failed (exit 1): CFLAGS="${'-O2 -pipe -march=znver3 '.repeat(80)}"`;
const builds = [
  Build.fromPartial({ id: 4, target: 'alpha', kind: BuildKind.BUILD_KIND_AUTO, status: BuildStatus.BUILD_STATUS_FAILED, queuedAt: new Date(0), error }),
  Build.fromPartial({ id: 3, target: 'alpha', kind: BuildKind.BUILD_KIND_MANUAL, status: BuildStatus.BUILD_STATUS_SUCCEEDED, queuedAt: new Date(0), snapshotId: 2 }),
];

async function run(...argv: string[]): Promise<string> {
  let out = '';
  const stdout = new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) });
  const stderr = new Writable({ write: (_c, _e, cb) => cb() });
  const client = {
    close() {},
    listBuilds: (_req: unknown, _md: unknown, _opts: unknown, cb: (e: null, r: unknown) => void) => (setImmediate(() => cb(null, { builds })), { cancel() {} }),
  } as unknown as AdminServiceClient;
  expect(await dispatch(argv, { stdout, stderr, admin: () => Promise.resolve(client) })).toBe(0);
  return out;
}

describe('binhostctl builds (text)', () => {
  it('shortens a long DETAIL in the list, and says where all of it is', async () => {
    const out = await run('builds');
    const lines = out.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(200);
    expect(lines[1]).toMatch(/^4 +alpha +failed +auto +.*emerge failed \(exit 1\): CFLAGS="-O2 -pipe .*…$/);
    expect(lines[2]).toMatch(/snapshot 2$/);
    expect(out).toContain('(DETAIL shortened; "binhostctl builds NAME BUILD" shows all of it)\n');
  });

  it('keeps the whole DETAIL for one build, and in --json', async () => {
    expect(await run('builds', 'alpha', '4')).toContain(error);
    expect(await run('--json', 'builds')).toContain(JSON.stringify(error).slice(1, -1));
  });

  it('adds no note when nothing was shortened', async () => {
    builds.splice(0, 1);
    expect(await run('builds')).not.toContain('shortened');
  });
});
