import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NATIVE_ARGS } from '@binhost/shared';
import { parseNativeFlags, resolveNativeFlags } from './native-flags.js';
import { spawnCompiler, type CompilerRunner } from './run-compiler.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/portage/${name}`, import.meta.url)), 'utf8');

/** The flags the real gcc 12.2.0 printed on an AMD EPYC (Zen 3 with AVX-512) VM, in its order. */
const ZNVER3_FEATURES = [
  '-mmmx', '-mpopcnt', '-msse', '-msse2', '-msse3', '-mssse3', '-msse4.1', '-msse4.2', '-mavx', '-mavx2', '-msse4a',
  '-mno-fma4', '-mno-xop', '-mfma', '-mavx512f', '-mbmi', '-mbmi2', '-maes', '-mpclmul', '-mavx512vl', '-mavx512bw',
  '-mavx512dq', '-mavx512cd', '-mno-avx512er', '-mno-avx512pf', '-mavx512vbmi', '-mavx512ifma', '-mno-avx5124vnniw',
  '-mno-avx5124fmaps', '-mavx512vpopcntdq', '-mavx512vbmi2', '-mgfni', '-mvpclmulqdq', '-mavx512vnni', '-mavx512bitalg',
  '-mavx512bf16', '-mavx512vp2intersect', '-mno-3dnow', '-madx', '-mabm', '-mno-cldemote', '-mclflushopt', '-mclwb',
  '-mclzero', '-mcx16', '-mno-enqcmd', '-mf16c', '-mfsgsbase', '-mfxsr', '-mno-hle', '-msahf', '-mno-lwp', '-mlzcnt',
  '-mmovbe', '-mmovdir64b', '-mmovdiri', '-mno-mwaitx', '-mno-pconfig', '-mno-pku', '-mno-prefetchwt1', '-mprfchw',
  '-mno-ptwrite', '-mno-rdpid', '-mrdrnd', '-mno-rdseed', '-mno-rtm', '-mno-serialize', '-mno-sgx', '-msha', '-mno-shstk',
  '-mno-tbm', '-mno-tsxldtrk', '-mvaes', '-mno-waitpkg', '-mno-wbnoinvd', '-mxsave', '-mxsavec', '-mxsaveopt',
  '-mno-xsaves', '-mno-amx-tile', '-mno-amx-int8', '-mno-amx-bf16', '-mno-uintr', '-mno-hreset', '-mno-kl', '-mno-widekl',
  '-mavxvnni', '-mno-avx512fp16',
];
const ZNVER3_PARAMS = ['--param=l1-cache-size=48', '--param=l1-cache-line-size=64', '--param=l2-cache-size=1024'];

/** A runner that answers from recorded output and remembers what it was asked to run. */
function recorded(output: string, exitCode: number | null = 0): CompilerRunner & { calls: string[][] } {
  const calls: string[][] = [];
  const run = async (argv: readonly string[]) => {
    calls.push([...argv]);
    return { exitCode, output };
  };
  return Object.assign(run, { calls });
}

function enoent(file: string): Error {
  return Object.assign(new Error(`spawn ${file} ENOENT`), { code: 'ENOENT' });
}

describe('parseNativeFlags', () => {
  it('parses the full gcc -v output of the real build VM to the exact flags', () => {
    expect(parseNativeFlags(fixture('gcc-march-native-v.txt'))).toEqual({
      known: true,
      march: 'znver3',
      mtune: 'znver3',
      featureFlags: ZNVER3_FEATURES,
      params: ZNVER3_PARAMS,
      error: '',
    });
  });

  it("parses the guide's grep'ed cc1 line to the same flags", () => {
    expect(parseNativeFlags(fixture('gcc-march-native-cc1-mtune.txt'))).toEqual(parseNativeFlags(fixture('gcc-march-native-v.txt')));
  });

  it('finds nothing in output without a cc1 line', () => {
    expect(parseNativeFlags('clang version 17.0.6\nTarget: x86_64-pc-linux-gnu\n')).toBeUndefined();
  });
});

describe('resolveNativeFlags', () => {
  it('runs make.conf CC with the guide arguments and reports the gcc version and target', async () => {
    const run = recorded(fixture('gcc-march-native-v.txt'));
    const facts = await resolveNativeFlags({ cc: ['x86_64-pc-linux-gnu-gcc'], chost: 'ignored', run });
    expect(run.calls).toEqual([['x86_64-pc-linux-gnu-gcc', ...NATIVE_ARGS]]);
    expect(facts.native.compiler).toBe('x86_64-pc-linux-gnu-gcc');
    expect(facts.native.march).toBe('znver3');
    expect(facts.gccVersion).toBe('12.2.0');
    expect(facts.target).toBe('x86_64-linux-gnu');
  });

  it('tries ${CHOST}-gcc first and falls back to gcc when it does not exist', async () => {
    const calls: string[] = [];
    const run: CompilerRunner = async (argv) => {
      calls.push(argv[0]!);
      if (argv[0] !== 'gcc') throw enoent(argv[0]!);
      return { exitCode: 0, output: fixture('gcc-march-native-v.txt') };
    };
    const facts = await resolveNativeFlags({ chost: 'x86_64-pc-linux-gnu', run });
    expect(calls).toEqual(['x86_64-pc-linux-gnu-gcc', 'gcc']);
    expect(facts.native).toMatchObject({ known: true, compiler: 'gcc' });
  });

  it('reports unknown flags when the compiler is missing', async () => {
    const facts = await resolveNativeFlags({ cc: ['no-such-gcc-1234'] });
    expect(facts.native).toMatchObject({ known: false, compiler: 'no-such-gcc-1234', error: 'compiler not found: no-such-gcc-1234', march: '' });
    expect(facts.native.featureFlags).toEqual([]);
  });

  it('reports unknown flags with the last output line when the compiler fails', async () => {
    const facts = await resolveNativeFlags({ cc: ['gcc'], run: recorded("gcc: error: unrecognized command-line option '-march=native'\n", 1) });
    expect(facts.native).toMatchObject({ known: false, error: "gcc exited with code 1: gcc: error: unrecognized command-line option '-march=native'" });
  });

  it('reports unknown flags when the compiler is not gcc-like (no cc1 line)', async () => {
    const facts = await resolveNativeFlags({ cc: ['clang'], run: recorded('clang version 17.0.6\n') });
    expect(facts.native.known).toBe(false);
    expect(facts.native.error).toMatch(/no cc1 line/);
    expect(facts.gccVersion).toBe('17.0.6');
  });

  it('resolves -march=native with the real gcc on this machine', async () => {
    const facts = await resolveNativeFlags({ run: spawnCompiler });
    expect(facts.native.known).toBe(true);
    expect(facts.native.compiler).toBe('gcc');
    expect(facts.native.march).toMatch(/^[a-z0-9-]+$/);
    expect(facts.native.march).not.toBe('native');
    expect(facts.native.mtune).not.toBe('');
    expect(facts.native.featureFlags.length).toBeGreaterThan(10);
    expect(facts.native.featureFlags.every((f) => f.startsWith('-m') && !f.startsWith('-march') && !f.startsWith('-mtune'))).toBe(true);
    expect(facts.gccVersion).toMatch(/^\d+\.\d+/);
    // The same flags the guide's pipeline shows, checked against a second, independent run.
    const again = await spawnCompiler(['gcc', ...NATIVE_ARGS]);
    const cc1 = again.output.split('\n').find((l) => l.includes('/cc1') && l.includes('mtune'))!;
    expect(cc1).toContain(`-march=${facts.native.march}`);
    for (const f of facts.native.featureFlags) expect(cc1.split(/\s+/)).toContain(f);
  });
});
