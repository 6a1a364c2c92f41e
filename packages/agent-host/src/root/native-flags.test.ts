import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SpawnCommandRunner, type CommandRunner, type CommandSpec } from '@binhost/shared';
import { marchReplacement, missingOnHost, parseCc1Line } from '@binhost/shared';
import { hostNative, validateFlags } from './native-flags.js';

const fixture = readFileSync(fileURLToPath(new URL('../../../../test/fixtures/portage/gcc-march-native-cc1-mtune.txt', import.meta.url)), 'utf8');

/** Counts gcc invocations of a real runner. */
class CountingRunner implements CommandRunner {
  readonly calls: CommandSpec[] = [];
  private readonly real = new SpawnCommandRunner();
  run(spec: CommandSpec) {
    this.calls.push(spec);
    return this.real.run(spec);
  }
}

describe('parseCc1Line', () => {
  it('reads march, mtune, feature flags and params from the real cc1 line', () => {
    const r = parseCc1Line(fixture)!;
    expect(r.march).toBe('znver3');
    expect(r.mtune).toBe('znver3');
    expect(r.featureFlags.slice(0, 3)).toEqual(['-mmmx', '-mpopcnt', '-msse']);
    expect(r.featureFlags).toContain('-mno-xop');
    expect(r.featureFlags).not.toContain('-mtune=znver3');
    expect(r.params).toEqual(['--param=l1-cache-size=48', '--param=l1-cache-line-size=64', '--param=l2-cache-size=1024']);
    expect(marchReplacement(r)[0]).toBe('-march=znver3');
    expect(marchReplacement(r).at(-1)).toBe('-mtune=znver3');
  });

  it('returns undefined without a cc1 line', () => {
    expect(parseCc1Line('gcc: error: unrecognized')).toBeUndefined();
  });
});

describe('validateFlags with the real gcc', () => {
  const flags = marchReplacement(parseCc1Line(fixture)!);

  it('accepts the fixture flags with one compile call', async () => {
    const runner = new CountingRunner();
    const v = await validateFlags(runner, 'gcc', flags);
    expect(v.rejected).toEqual([]);
    expect(v.accepted).toEqual(flags);
    // --version probe + one call with every flag
    expect(runner.calls).toHaveLength(2);
  });

  it('drops only the flags gcc rejects, bisecting', async () => {
    const runner = new CountingRunner();
    const bad = [...flags.slice(0, 40), '-mfoo-bar', ...flags.slice(40), '-mno-such-thing'];
    const v = await validateFlags(runner, 'gcc', bad);
    expect(v.rejected).toEqual(['-mfoo-bar', '-mno-such-thing']);
    expect(v.accepted).toEqual(flags);
    expect(runner.calls.length).toBeLessThan(2 * 2 * Math.ceil(Math.log2(bad.length)) + 3);
  });

  it('fails clearly when the compiler cannot run', async () => {
    await expect(validateFlags(new SpawnCommandRunner(), '/nonexistent/gcc', flags)).rejects.toThrow(/config build\.compiler/);
  });
});

describe('missingOnHost', () => {
  it('names extensions the target enables and the host lacks', async () => {
    const host = (await hostNative(new SpawnCommandRunner(), 'gcc'))!;
    expect(host.march).not.toBe('');
    const target = parseCc1Line(fixture)!;
    const fake = { ...target, featureFlags: [...target.featureFlags, '-mamx-tile', '-mno-avx2'] };
    // The host: the fixture's CPU without AMX.
    const hostWithout = { ...target, featureFlags: target.featureFlags.filter((f) => f !== '-mamx-tile').concat('-mno-amx-tile') };
    expect(missingOnHost(fake, hostWithout)).toEqual(['amx-tile']);
    expect(missingOnHost({ ...fake, featureFlags: ['-mno-avx2'] }, hostWithout)).toEqual([]);
  });
});
