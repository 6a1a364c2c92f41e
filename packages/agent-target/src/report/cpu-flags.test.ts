import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpuFlagsX86, readCpuFlagsX86 } from './cpu-flags.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/portage/${name}`, import.meta.url)), 'utf8');

describe('cpuFlagsX86', () => {
  it('derives exactly what cpuid2cpuflags prints for the real build VM (AMD EPYC, Zen 3 + AVX-512)', () => {
    expect(cpuFlagsX86(fixture('proc-cpuinfo-flags.txt')).join(' ')).toBe(
      'aes avx avx2 avx512_bf16 avx512_bitalg avx512_vbmi2 avx512_vnni avx512_vp2intersect avx512_vpopcntdq ' +
        'avx512bw avx512cd avx512dq avx512f avx512ifma avx512vbmi avx512vl avx_vnni bmi1 bmi2 f16c fma3 mmx mmxext ' +
        'pclmul popcnt rdrand sha sse sse2 sse3 sse4_1 sse4_2 ssse3 vpclmulqdq',
    );
  });

  it('maps the kernel names that differ (pni, fma, sha_ni, pclmulqdq, abm, phe) and implies mmxext from sse', () => {
    expect(cpuFlagsX86('flags\t\t: pni fma sha_ni pclmulqdq abm phe sse\n')).toEqual(['fma3', 'mmxext', 'padlock', 'pclmul', 'popcnt', 'sha', 'sse', 'sse3']);
  });

  it('reads only the first flags line and gives nothing without one', () => {
    expect(cpuFlagsX86('processor\t: 0\nflags\t\t: mmx\n\nprocessor\t: 1\nflags\t\t: mmx avx\n')).toEqual(['mmx']);
    expect(cpuFlagsX86('Features\t: fp asimd evtstrm\n')).toEqual([]);
  });

  it('reads this machine and warns instead of failing for a missing file', async () => {
    const real = await readCpuFlagsX86();
    expect(real.warning).toBeUndefined();
    if (process.arch === 'x64') expect(real.flags).toEqual(expect.arrayContaining(['mmx', 'sse', 'sse2']));
    const missing = await readCpuFlagsX86('/nonexistent/cpuinfo');
    expect(missing.flags).toEqual([]);
    expect(missing.warning).toMatch(/^\/nonexistent\/cpuinfo: cannot read CPU flags/);
  });
});
