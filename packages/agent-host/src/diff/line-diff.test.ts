import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unifiedDiff } from './line-diff.js';

/** A small deterministic PRNG, so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

function randomText(next: () => number, lines: number): string {
  const words = ['a', 'b', 'c', 'd', 'USE="x"', '# c'];
  let t = Array.from({ length: lines }, () => words[Math.floor(next() * words.length)]).join('\n');
  if (next() < 0.8 && t) t += '\n';
  return t;
}

describe('unifiedDiff', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhost-diff-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the same hunks as GNU diff -u for a one-line change', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const after = 'a\nb\nc\nd\nE\nf\ng\nh\n';
    expect(unifiedDiff('etc/portage/make.conf', before, after)).toBe(
      '--- a/etc/portage/make.conf\n+++ b/etc/portage/make.conf\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n',
    );
    expect(unifiedDiff('x', 'same\n', 'same\n')).toBe('');
  });

  it('marks a missing newline at the end and handles empty sides', () => {
    expect(unifiedDiff('w', 'a\n', 'a')).toBe('--- a/w\n+++ b/w\n@@ -1 +1 @@\n-a\n+a\n\\ No newline at end of file\n');
    expect(unifiedDiff('w', '', 'x\ny\n')).toBe('--- a/w\n+++ b/w\n@@ -0,0 +1,2 @@\n+x\n+y\n');
    expect(unifiedDiff('w', 'x\n', '')).toBe('--- a/w\n+++ b/w\n@@ -1 +0,0 @@\n-x\n');
  });

  it('gives up with a note beyond maxEdits', () => {
    expect(unifiedDiff('w', 'a\nb\nc\n', 'x\ny\nz\n', { maxEdits: 2 })).toBe('(3 → 3 lines; too many changes to show a diff)\n');
  });

  it('produces minimal patches that GNU patch applies, on 100 random pairs', async () => {
    const next = rng(42);
    for (let i = 0; i < 100; i++) {
      const before = randomText(next, Math.floor(next() * 30));
      const after = randomText(next, Math.floor(next() * 30));
      const d = unifiedDiff('f', before, after);
      if (before === after) {
        expect(d).toBe('');
        continue;
      }
      await writeFile(join(dir, 'f'), before);
      await writeFile(join(dir, 'a'), before);
      await writeFile(join(dir, 'b'), after);
      const res = spawnSync('patch', ['-s', '-p1', '--no-backup-if-mismatch'], { cwd: dir, input: d, encoding: 'utf8' });
      expect(res.status, `case ${i}: ${res.stdout}${res.stderr}\n${d}`).toBe(0);
      expect(await readFile(join(dir, 'f'), 'utf8'), `case ${i}`).toBe(after);
      const gnu = spawnSync('diff', ['--minimal', '-u', 'a', 'b'], { cwd: dir, encoding: 'utf8' }).stdout;
      const edits = (s: string) => s.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l)).length;
      expect(edits(d), `case ${i}: edit count vs GNU diff --minimal`).toBe(edits(gnu));
    }
  });
});
