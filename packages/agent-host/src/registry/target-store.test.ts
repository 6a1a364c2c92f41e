import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileKind, MAX_REPORT_BYTES, stateDigest, TargetState } from '@binhost/shared';
import { HISTORY_LIMIT, HISTORY_MAX_BYTES, TargetStore } from './target-store.js';

/** A state whose one file has `size` bytes of `fill`; its encoding is a little over `size`. */
function stateOf(fill: number, size: number): TargetState {
  const files = [{ path: 'etc/portage/make.conf', kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.alloc(size, fill), linkTarget: '' }];
  return TargetState.fromPartial({ digest: stateDigest(files), files, hostname: 'alpha' });
}

describe('TargetStore history', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhost-store-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps the stored states of a target within its byte budget, dropping the oldest entries', async () => {
    const store = new TargetStore(dir, { historyMaxBytes: 10_000 });
    const states = [1, 2, 3, 4, 5].map((fill) => stateOf(fill, 3000));
    for (const [i, s] of states.entries()) await store.writeState('alpha', s, new Date(1_000 * i));
    // three states of ~3 KB fit in 10,000 bytes, four do not
    expect((await store.readHistory('alpha')).map((h) => h.digest)).toEqual(states.slice(2).map((s) => s.digest));
    expect((await readdir(join(dir, 'alpha', 'states'))).sort()).toEqual(states.slice(2).map((s) => `${s.digest.slice(7)}.bin`).sort());
    expect(await store.readState('alpha', states[1]!.digest)).toBeUndefined();
    expect((await store.readState('alpha'))?.digest).toBe(states[4]!.digest);

    // the same digest again (facts changed) shares its file: it costs nothing more
    await store.writeState('alpha', states[4]!, new Date(10_000));
    expect((await store.readHistory('alpha')).map((h) => h.digest)).toEqual([states[2], states[3], states[4], states[4]].map((s) => s!.digest));
  });

  it('always keeps the latest state, even one over the budget alone', async () => {
    const store = new TargetStore(dir, { historyMaxBytes: 1_000 });
    const [a, b] = [stateOf(1, 600), stateOf(2, 2_000)];
    await store.writeState('alpha', a, new Date(1));
    await store.writeState('alpha', b, new Date(2));
    expect((await store.readHistory('alpha')).map((h) => h.digest)).toEqual([b.digest]);
    expect((await store.readState('alpha'))?.digest).toBe(b.digest);
  });

  it('has a default budget that holds two of the largest reports, and keeps the count limit', async () => {
    expect(HISTORY_MAX_BYTES).toBeGreaterThanOrEqual(2 * MAX_REPORT_BYTES);
    const store = new TargetStore(dir);
    for (let i = 0; i < HISTORY_LIMIT + 3; i++) await store.writeState('alpha', stateOf(i, 10), new Date(i));
    expect(await store.readHistory('alpha')).toHaveLength(HISTORY_LIMIT);
  });
});
