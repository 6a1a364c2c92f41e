import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAppendWriter, WriteBehind, type FileWriter } from './file-writer.js';

describe('WriteBehind', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'write-behind-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('appends every chunk in order, several in one writev while the disk is busy', async () => {
    const real = await openAppendWriter(join(dir, 'f'));
    const calls: number[] = [];
    const counting: FileWriter = { ...real, write: (d) => (calls.push(1), real.write(d)), writev: (d) => (calls.push(d.length), real.writev!(d)) };
    const chunks = Array.from({ length: 50 }, (_, i) => randomBytes(1000 + i));
    const behind = new WriteBehind(counting, 10_000);
    for (const c of chunks) await behind.write(c);
    await behind.flush();
    await real.close();
    expect((await readFile(join(dir, 'f'))).equals(Buffer.concat(chunks))).toBe(true);
    expect(calls.length).toBeLessThan(chunks.length); // batched
    expect(calls.reduce((a, b) => a + b, 0)).toBe(chunks.length);
  });

  it('keeps the first failure, writes nothing after it, and throws it from the next call', async () => {
    const written: number[] = [];
    let n = 0;
    const failing: FileWriter = {
      write: async (d) => {
        if (++n === 3) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        written.push(d.length);
      },
      sync: async () => undefined,
      close: async () => undefined,
    };
    const behind = new WriteBehind(failing, 1);
    const results = [];
    for (let i = 1; i <= 5; i++) results.push(await behind.write(Buffer.alloc(i)).then(() => 'ok', (e: Error) => e.message));
    expect(results.slice(0, 2)).toEqual(['ok', 'ok']);
    expect(results.slice(2)).toEqual(Array(3).fill('ENOSPC: no space left on device, write'));
    await expect(behind.flush()).rejects.toThrow(/ENOSPC/);
    expect(written).toEqual([1, 2]);
  });
});
