import { readFile } from 'node:fs/promises';

/**
 * CPU_FLAGS_X86 names and the /proc/cpuinfo flags that set them, following cpuid2cpuflags's x86
 * table (projg2/cpuid2cpuflags src/x86.c), which reads the same CPUID bits the kernel names here.
 * Where the kernel's name differs: fma3 ← fma, pclmul ← pclmulqdq, sha ← sha_ni, sse3 ← pni,
 * padlock ← phe (VIA PHE). cpuid2cpuflags sets mmxext from AMD's MMXEXT bit or from SSE (Intel's
 * SSE implies the MMX extensions), and popcnt from POPCNT or AMD's ABM bit.
 */
const CPU_FLAGS_X86: Readonly<Record<string, readonly string[]>> = {
  '3dnow': ['3dnow'],
  '3dnowext': ['3dnowext'],
  aes: ['aes'],
  avx: ['avx'],
  avx2: ['avx2'],
  avx512_4fmaps: ['avx512_4fmaps'],
  avx512_4vnniw: ['avx512_4vnniw'],
  avx512_bf16: ['avx512_bf16'],
  avx512_bitalg: ['avx512_bitalg'],
  avx512_fp16: ['avx512_fp16'],
  avx512_vbmi2: ['avx512_vbmi2'],
  avx512_vnni: ['avx512_vnni'],
  avx512_vp2intersect: ['avx512_vp2intersect'],
  avx512_vpopcntdq: ['avx512_vpopcntdq'],
  avx512bw: ['avx512bw'],
  avx512cd: ['avx512cd'],
  avx512dq: ['avx512dq'],
  avx512er: ['avx512er'],
  avx512f: ['avx512f'],
  avx512ifma: ['avx512ifma'],
  avx512pf: ['avx512pf'],
  avx512vbmi: ['avx512vbmi'],
  avx512vl: ['avx512vl'],
  avx_vnni: ['avx_vnni'],
  bmi1: ['bmi1'],
  bmi2: ['bmi2'],
  f16c: ['f16c'],
  fma3: ['fma'],
  fma4: ['fma4'],
  mmx: ['mmx'],
  mmxext: ['mmxext', 'sse'],
  padlock: ['phe'],
  pclmul: ['pclmulqdq'],
  popcnt: ['popcnt', 'abm'],
  rdrand: ['rdrand'],
  sha: ['sha_ni'],
  sse: ['sse'],
  sse2: ['sse2'],
  sse3: ['pni'],
  sse4_1: ['sse4_1'],
  sse4_2: ['sse4_2'],
  sse4a: ['sse4a'],
  ssse3: ['ssse3'],
  vpclmulqdq: ['vpclmulqdq'],
  xop: ['xop'],
};

/**
 * CPU_FLAGS_X86 from the text of /proc/cpuinfo (its first `flags` line), in the order
 * cpuid2cpuflags prints them (byte order of the names). Empty when there is no flags line
 * (not x86).
 */
export function cpuFlagsX86(cpuinfo: string): string[] {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo);
  if (!line) return [];
  const have = new Set(line[1]!.trim().split(/\s+/));
  return Object.keys(CPU_FLAGS_X86)
    .filter((name) => CPU_FLAGS_X86[name]!.some((f) => have.has(f)))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Reads /proc/cpuinfo and derives CPU_FLAGS_X86; empty when it cannot be read. */
export async function readCpuFlagsX86(file = '/proc/cpuinfo'): Promise<{ flags: string[]; warning?: string }> {
  try {
    return { flags: cpuFlagsX86(await readFile(file, 'utf8')) };
  } catch (err) {
    return { flags: [], warning: `${file}: cannot read CPU flags (${(err as Error).message})` };
  }
}
