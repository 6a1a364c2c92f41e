import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parsePlan } from './plan.js';

const fixture = (name: string) => {
  const text = readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/portage/transcripts/${name}`, import.meta.url)), 'utf8');
  const exit = Number(/^# exit code: (\d+)/.exec(text)?.[1]);
  return { lines: text.split('\n').filter((l) => !l.startsWith('#')), exit };
};

describe('parsePlan', () => {
  it('reads the binary packages of a real pretend', () => {
    const { lines, exit } = fixture('target-pretend-available.txt');
    const plan = parsePlan(lines, exit, 3, ['app-misc/hello-user', 'app-misc/greet']);
    expect(plan.packages.map((p) => [p.kind, p.flags, p.cpv, p.buildId])).toEqual([
      ['binary', 'N g', 'app-misc/hello-1.0', '1'],
      ['binary', 'N g', 'app-misc/greet-1.0', '1'],
      ['binary', 'N g', 'app-misc/hello-user-1.0', '1'],
    ]);
    expect(plan.binaryOnly).toBe(true);
    expect(plan.problems).toEqual([]);
    expect(plan.snapshotId).toBe(3);
  });

  it('reports a package with no binary as a problem, not binary only', () => {
    const { lines, exit } = fixture('target-pretend-missing.txt');
    const plan = parsePlan(lines, exit, 1, []);
    expect(plan.binaryOnly).toBe(false);
    expect(plan.problems).toEqual(['emerge: there are no binary packages to satisfy "app-misc/broken" for $ROOT/.']);
  });

  it('reports the USE mismatch refusal with the masked package', () => {
    const { lines, exit } = fixture('target-use-mismatch-refused.txt');
    const plan = parsePlan(lines, exit, 1, []);
    expect(plan.binaryOnly).toBe(false);
    expect(plan.problems).toEqual([
      '!!! All ebuilds that could satisfy "app-misc/greet" for $ROOT/ have been masked.',
      '- app-misc/greet-1.0::gentoo (masked by: )',
    ]);
  });

  it('is not binary only when a package would be built from source', () => {
    const plan = parsePlan(['[ebuild  U  ] dev-libs/foo-2.0-r1 [1.0]', '[binary   R   ] app-misc/hello-1.0-r2-3 to /'], 0, 1, []);
    expect(plan.packages.map((p) => [p.kind, p.cpv, p.buildId])).toEqual([
      ['ebuild', 'dev-libs/foo-2.0-r1', ''],
      ['binary', 'app-misc/hello-1.0-r2', '3'],
    ]);
    expect(plan.binaryOnly).toBe(false);
  });
});
