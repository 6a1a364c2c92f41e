import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { NativeFlags, SpawnCommandRunner, silentLogger } from '@binhost/shared';
import { createMarchSummarizer, parseTargetHelp, summarizeMarch } from './march-summary.js';

const HELP = `The following options are target specific:
  -m64                        \t\t[enabled]
  -mabi=                      \t\tsysv
  -march=                     \t\tznver3
  -mavx2                      \t\t[enabled]
  -mavx512f                   \t\t[disabled]
  -msha                       \t\t[enabled]
`;

describe('the -march summary', () => {
  it('reads gcc -Q --help=target and keeps only the flags -march=X does not imply', () => {
    const implied = parseTargetHelp(HELP);
    expect([...implied]).toEqual([['64', true], ['avx2', true], ['avx512f', false], ['sha', true]]);
    const nf = NativeFlags.fromPartial({ known: true, march: 'znver3', mtune: 'znver3', featureFlags: ['-mavx2', '-mno-avx512f', '-mno-sha', '-mavx512f', '-mnewthing'] });
    expect(summarizeMarch(nf, implied, 'gcc')).toEqual({
      march: 'znver3',
      mtune: 'znver3',
      // -mno-sha and -mavx512f go against -march=znver3; -mnewthing is not known to this gcc
      differingFlags: ['-mno-sha', '-mavx512f', '-mnewthing'],
      impliedCount: 2,
      compiler: 'gcc',
      error: '',
    });
  });

  it.skipIf(spawnSync('gcc', ['--version']).status !== 0)("asks the host's gcc, once per -march", async () => {
    const runner = new SpawnCommandRunner();
    let calls = 0;
    const counting = { run: (spec: Parameters<SpawnCommandRunner['run']>[0]) => (calls++, runner.run(spec)) };
    const summarize = createMarchSummarizer({ runner: counting, compiler: () => 'gcc', log: silentLogger() });
    const nf = NativeFlags.fromPartial({ known: true, march: 'x86-64-v3', mtune: 'generic', featureFlags: ['-mavx2', '-mfma', '-mno-avx512f', '-mavx512f'] });
    const first = await summarize(nf);
    expect(first).toMatchObject({ march: 'x86-64-v3', differingFlags: ['-mavx512f'], impliedCount: 3, error: '' });
    await summarize(nf);
    expect(calls).toBe(1);
    expect(await summarize(NativeFlags.fromPartial({ known: false }))).toBeUndefined();
    const unknown = await createMarchSummarizer({ runner, compiler: () => '/nonexistent/gcc', log: silentLogger() })(nf);
    expect(unknown?.differingFlags).toEqual(nf.featureFlags);
    expect(unknown?.error).toContain("the host's compiler /nonexistent/gcc could not say what -march=x86-64-v3 implies");
  });
});
