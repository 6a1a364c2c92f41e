import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TargetState, type NativeFlags } from '../api.js';
import { assertReportedFacts, assertReportedHostname, escapeControlChars, flagGrammarFor, ReportedFactError } from './reported-facts.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/portage/${name}`, import.meta.url)), 'utf8');

/** The cc1 line of the real `gcc -v -E -x c -march=native …` transcript, split as gcc printed it. */
const cc1Words = fixture('gcc-march-native-v.txt')
  .split('\n')
  .find((l) => /\/cc1\s/.test(l) && l.includes('-march='))!
  .trim()
  .split(/\s+/);
/** The fixture's `--param NAME=VALUE` pairs in both spellings a report may carry. */
const params = cc1Words.flatMap((w, i) => (w === '--param' ? [`--param ${cc1Words[i + 1]!}`, `--param=${cc1Words[i + 1]!}`] : []));
const realNative: NativeFlags = {
  known: true,
  march: cc1Words.find((w) => w.startsWith('-march='))!.slice(7),
  mtune: cc1Words.find((w) => w.startsWith('-mtune='))!.slice(7),
  featureFlags: cc1Words.filter((w) => /^-m/.test(w) && !/^-m(arch|tune)=/.test(w)),
  params,
  compiler: 'x86_64-pc-linux-gnu-gcc',
  error: '',
};
/** cpuid2cpuflags on the fixture's CPU (test/fixtures/portage/proc-cpuinfo-flags.txt). */
const REAL_CPU_FLAGS =
  'aes avx avx2 avx512_bf16 avx512_bitalg avx512_vbmi2 avx512_vnni avx512_vp2intersect avx512_vpopcntdq avx512bw avx512cd avx512dq avx512f avx512ifma avx512vbmi avx512vl f16c fma3 mmx mmxext pclmul popcnt rdrand sha sse sse2 sse3 sse4_1 sse4_2 sse4a ssse3 vpclmulqdq'.split(' ');

/** A report as a real amd64 target sends it, with `over` changed. */
function report(over: Partial<TargetState> = {}, native: Partial<NativeFlags> = {}): TargetState {
  return TargetState.fromPartial({
    profile: 'default/linux/amd64/23.0/desktop/plasma/systemd',
    chost: 'x86_64-pc-linux-gnu',
    gccVersion: '12.2.0',
    kernelRelease: '6.6.13-gentoo-dist',
    hostname: 'alpha-box.lan',
    arch: 'amd64',
    nativeFlags: { ...realNative, ...native },
    cpuFlagsX86: REAL_CPU_FLAGS,
    warnings: ['etc/portage/package.use/fifo: skipped, not a regular file (FIFO)', '-march=native unknown: compiler not found: no-such-gcc'],
    ...over,
  });
}

/** The refusal of `state`, asserting it names `field` and shows `word` (escaped as the message shows it). */
function refusal(state: TargetState, field: string, word: string): string {
  let err: unknown;
  try {
    assertReportedFacts(state);
  } catch (e) {
    err = e;
  }
  expect(err, `${field} ${JSON.stringify(word)} should be refused`).toBeInstanceOf(ReportedFactError);
  const e = err as ReportedFactError;
  expect(e.code).toBe(3); // INVALID_ARGUMENT
  expect(e.field).toBe(field);
  expect(e.word).toBe(word);
  expect(e.message).toContain(`report refused: ${field} "${escapeControlChars(word).replace(/"/g, '\\"')}": not `);
  return e.message;
}

describe('assertReportedFacts', () => {
  it('accepts real reports: the fixture cc1 line, cpuid2cpuflags, profiles, triplets, versions', () => {
    expect(realNative.featureFlags.length).toBeGreaterThan(80);
    expect(params).toContain('--param l2-cache-size=1024');
    expect(() => assertReportedFacts(report())).not.toThrow();
    // every word of the real /proc/cpuinfo flags line has CPU_FLAGS_X86's shape too
    const kernelFlags = fixture('proc-cpuinfo-flags.txt').split('\n')[1]!.split(':')[1]!.trim().split(/\s+/);
    expect(() => assertReportedFacts(report({ cpuFlagsX86: kernelFlags }))).not.toThrow();
    for (const march of ['x86-64-v3', 'skylake-avx512', 'i686', 'k8-sse3', 'goldmont-plus', 'x86-64']) {
      expect(() => assertReportedFacts(report({}, { march, mtune: 'generic' }))).not.toThrow();
    }
    // gcc 13/14 words
    expect(() => assertReportedFacts(report({}, { featureFlags: ['-mavx10.1-256', '-mno-apxf', '-mevex512', '-mno-usermsr', '-mno-amx-complex'] }))).not.toThrow();
    for (const profile of ['', 'default/linux/amd64/23.0', 'default/linux/amd64/23.0/no-multilib/hardened', 'etc/portage/make.profile', 'default/linux/x86/23.0/i686']) {
      expect(() => assertReportedFacts(report({ profile }))).not.toThrow();
    }
    for (const chost of ['', 'x86_64-linux-gnu', 'i686-pc-linux-gnu', 'x86_64-gentoo-linux-musl', 'armv7a-unknown-linux-gnueabihf', 'powerpc64le-unknown-linux-gnu']) {
      expect(() => assertReportedFacts(report({ chost }))).not.toThrow();
    }
    for (const gccVersion of ['', '14', '13.2.1', '4.8.5']) expect(() => assertReportedFacts(report({ gccVersion }))).not.toThrow();
    for (const kernelRelease of ['', '6.1.0-18-amd64', '5.15.153.1-microsoft-standard-WSL2', '6.8.0+']) {
      expect(() => assertReportedFacts(report({ kernelRelease }))).not.toThrow();
    }
    // an unknown -march=native: empty flags and the reason, as the target agent reports it
    expect(() => assertReportedFacts(report({ warnings: [] }, { known: false, march: '', mtune: '', featureFlags: [], params: [], error: 'x86_64-pc-linux-gnu-gcc exited with code 1: cc1: error: bad value' }))).not.toThrow();
    // the old agents' reports: no arch, no CHOST, a bare profile
    expect(() => assertReportedFacts(TargetState.fromPartial({ hostname: 'alpha', profile: 'default/linux/amd64/harness', nativeFlags: { known: true, march: 'znver3', mtune: 'znver3', compiler: 'gcc' } }))).not.toThrow();
  });

  it('accepts other architectures in their own grammar: arm64 and riscv cc1 words', () => {
    const arm = report({ arch: 'arm64', chost: 'aarch64-unknown-linux-gnu', cpuFlagsX86: [] }, { march: 'armv8.2-a+crc+lse+rcpc+rdma+dotprod+fp16+crypto', mtune: 'neoverse-n1', featureFlags: ['-mlittle-endian', '-mabi=lp64'], params: [] });
    expect(() => assertReportedFacts(arm)).not.toThrow();
    const rv = report({ arch: 'riscv', chost: 'riscv64-unknown-linux-gnu', cpuFlagsX86: [] }, { march: 'rv64imafdc_zicsr_zifencei', mtune: 'sifive-u74', featureFlags: ['-mabi=lp64d', '-mcmodel=medany'], params: [] });
    expect(() => assertReportedFacts(rv)).not.toThrow();
    // the stricter x86 grammar has no '=' or '+' in feature flags
    expect(flagGrammarFor('amd64').feature.re.test('-mabi=lp64')).toBe(false);
    expect(flagGrammarFor('arm64').feature.re.test('-mabi=lp64')).toBe(true);
  });

  it('refuses words that would reach the compiler driver, the linker or a shell, naming field and word', () => {
    const hostileFeatures = [
      '-wrapper',
      '-fplugin=/tmp/evil.so',
      '-specs=/tmp/evil.specs',
      '@/tmp/args',
      '-B/tmp',
      '-B',
      '-o',
      '-Wl,-rpath,/tmp',
      '-Wa,--defsym,x=1',
      '-Xlinker',
      '-mavx2 -wrapper',
      '-mavx2"',
      "-mavx2'",
      '-mavx2\n-wrapper',
      '-mavx$(id)',
      '-mavx`id`',
      '-mavx2,-wrapper',
      '-mfoo=bar', // '=' is not in amd64's grammar
      '-mAVX2',
      '',
    ];
    for (const [i, word] of hostileFeatures.entries()) {
      const featureFlags = [...realNative.featureFlags.slice(0, i), word];
      refusal(report({}, { featureFlags }), `native_flags.feature_flags[${i}]`, word);
    }
    expect(refusal(report({}, { featureFlags: ['-mavx2', '-wrapper'] }), 'native_flags.feature_flags[1]', '-wrapper')).toContain('(amd64/x86 grammar)');
    // other architectures are laxer in characters, never in kind
    for (const word of ['-wrapper', '-fplugin=x', '-mabi=lp64,-wrapper', '-mfoo=/tmp/x', '-mfoo bar']) {
      refusal(report({ arch: 'arm64' }, { featureFlags: [word] }), 'native_flags.feature_flags[0]', word);
    }
  });

  it('refuses -march/-mtune values and --params that are not names and integers', () => {
    for (const march of ['znver3 -wrapper', 'znver3"', 'znver3\n', '$(id)', '-wrapper', 'native', 'ZNVER3', 'znver3,x', 'armv8-a+crc']) {
      refusal(report({}, { march }), 'native_flags.march', march);
    }
    for (const mtune of ['znver3;id', 'generic\n', 'native']) refusal(report({}, { mtune }), 'native_flags.mtune', mtune);
    for (const word of ['--param=l1-cache-size=48k', '--param=l1-cache-size=$(id)', '--param  l1-cache-size=48', '--param\nl1-cache-size=48', '--param=x', '-wrapper', '--param=l1-cache-size=48 -wrapper', '--param=l1-cache-size=12345678901']) {
      refusal(report({}, { params: [...params, word] }), `native_flags.params[${params.length}]`, word);
    }
  });

  it('refuses CPU_FLAGS_X86, profile, CHOST, gcc version, kernel, host name and arch that break their grammar', () => {
    for (const word of ['avx2 -wrapper', 'avx2\n*/* USE: evil', 'avx-2', 'AVX2', '"', '$x', '']) {
      refusal(report({ cpuFlagsX86: ['aes', word] }), 'cpu_flags_x86[1]', word);
    }
    for (const profile of ['/etc/shadow', '../../../etc', 'default/../../..', 'default/./linux', 'default//linux', 'default/linux/', '.hidden/x', 'default/linux amd64', 'default/linux\n', 'a/-rf']) {
      refusal(report({ profile }), 'profile', profile);
    }
    for (const chost of ['x86_64', 'x86_64-pc-linux-gnu -wrapper', 'x86_64-pc-linux-gnu\n', 'X86_64-pc-linux-gnu', '../x86_64-pc', 'x86_64-pc-linux-gnu;id']) {
      refusal(report({ chost }), 'chost', chost);
    }
    for (const gccVersion of ['12.2.0 (Debian)', '12.2.0-14', 'v12', '12..2', '12.2.0\n', '$(id)']) refusal(report({ gccVersion }), 'gcc_version', gccVersion);
    for (const kernelRelease of ['6.1.0 amd64', '6.1\u001b[2J', '6.1/..']) refusal(report({ kernelRelease }), 'kernel_release', kernelRelease);
    for (const hostname of ['alpha box', 'alpha\n', '\u001b]0;pwned\u0007', '-alpha', 'alpha/..']) refusal(report({ hostname }), 'hostname', hostname);
    for (const arch of ['amd64 ', 'AMD64', '../x']) refusal(report({ arch }), 'arch', arch);
  });

  it('refuses control characters in warnings and in the compiler fields, which are printed', () => {
    refusal(report({ warnings: ['fine', 'etc/portage/x\u001b[31m: skipped'] }), 'warnings[1]', 'etc/portage/x\u001b[31m: skipped');
    refusal(report({}, { error: 'gcc: error\nsecond line' }), 'native_flags.error', 'gcc: error\nsecond line');
    refusal(report({}, { compiler: 'gcc\u202e' }), 'native_flags.compiler', 'gcc\u202e');
    // the target agent escapes them first, so its warnings always pass
    expect(() => assertReportedFacts(report({ warnings: [escapeControlChars('etc/portage/x\u001b[31m\n: skipped')] }))).not.toThrow();
    expect(escapeControlChars('a\nb\u001bc')).toBe('a\\u{a}b\\u{1b}c');
  });

  it('bounds word length and list sizes', () => {
    const long = `-m${'a'.repeat(200)}`;
    expect(() => assertReportedFacts(report({}, { featureFlags: [long] }))).toThrow(/native_flags\.feature_flags\[0\] "-maaaa.*…": 202 characters, over the limit of 128/);
    expect(() => assertReportedFacts(report({}, { featureFlags: Array.from({ length: 1025 }, () => '-mavx') }))).toThrow('report refused: native_flags.feature_flags: 1025 words, over the limit of 1024');
    expect(() => assertReportedFacts(report({ cpuFlagsX86: Array.from({ length: 257 }, () => 'aes') }))).toThrow(/cpu_flags_x86: 257 words, over the limit of 256/);
    expect(() => assertReportedFacts(report({ hostname: 'a'.repeat(254) }))).toThrow(/hostname "a+…": 254 characters, over the limit of 253/);
  });

  it('checks a registering host name the same way', () => {
    expect(() => assertReportedHostname('alpha-box')).not.toThrow();
    expect(() => assertReportedHostname('alpha\u001b[2J')).toThrow('report refused: hostname "alpha\\u{1b}[2J": not a host name of [A-Za-z0-9_.-]');
  });
});
