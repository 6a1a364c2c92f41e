import type { CommandRunner, NativeFlags } from '@binhost/shared';
import { ExecError } from '@binhost/shared';

/** The flags `-march=native` stands for, as parsed from gcc's cc1 line. */
export interface ResolvedNative {
  march: string;
  mtune: string;
  /** `-mavx2`, `-mno-xop`, ... */
  featureFlags: string[];
  /** `--param=l1-cache-size=48`, ... (one word each) */
  params: string[];
}

/**
 * Parses the cc1 line of `gcc -v -E -x c -march=native -c /dev/null -o /dev/null` (stderr):
 * `... -march=znver3 -mmmx ... --param l1-cache-size=48 ... -mtune=znver3 ...`. Returns
 * undefined when there is no cc1 line with `-march=`.
 */
export function parseCc1Line(output: string): ResolvedNative | undefined {
  // The line whose program is cc1 (not a shell transcript that mentions it).
  const line = output.split('\n').find((l) => /^\s*\S*\/cc1(plus)?\s/.test(l) && /\s-march=(?!native)/.test(l));
  if (!line) return undefined;
  const words = line.trim().split(/\s+/);
  const r: ResolvedNative = { march: '', mtune: '', featureFlags: [], params: [] };
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    if (w.startsWith('-march=')) r.march = w.slice(7);
    else if (w.startsWith('-mtune=')) r.mtune = w.slice(7);
    else if (w === '--param' && words[k + 1]) r.params.push(`--param=${words[++k]}`);
    else if (w.startsWith('--param=')) r.params.push(w);
    else if (/^-m(no-)?[a-z0-9][a-z0-9.-]*$/.test(w) && !w.startsWith('-mtune') && !w.startsWith('-march')) r.featureFlags.push(w);
  }
  return r.march ? r : undefined;
}

/** The target's NativeFlags normalised (params as single `--param=...` words). */
export function fromNativeFlags(n: NativeFlags): ResolvedNative {
  return {
    march: n.march,
    mtune: n.mtune,
    featureFlags: [...n.featureFlags],
    params: n.params.map((p) => (p.startsWith('--param ') ? `--param=${p.slice(8).trim()}` : p)),
  };
}

/** What replaces `-march=native` (which also implies `-mtune=native`, as the cc1 line shows). */
export function marchReplacement(r: ResolvedNative): string[] {
  return [`-march=${r.march}`, ...r.featureFlags, ...r.params, ...(r.mtune ? [`-mtune=${r.mtune}`] : [])];
}

/** What replaces `-mtune=native`. */
export function mtuneReplacement(r: ResolvedNative): string[] {
  return r.mtune ? [`-mtune=${r.mtune}`] : [];
}

/** Result of {@link validateFlags}. */
export interface FlagValidation {
  accepted: string[];
  rejected: string[];
  /** gcc invocations made (1 when every flag is accepted). */
  calls: number;
}

/**
 * Checks flags against the host's compiler: `gcc -E -x c /dev/null -o /dev/null FLAGS`. One
 * call with every flag; only on failure the set is bisected to find the flags gcc rejects, so
 * a good set costs one process and k bad flags cost about 2k·log n.
 */
export async function validateFlags(runner: CommandRunner, compiler: string, flags: readonly string[]): Promise<FlagValidation> {
  let calls = 0;
  const ok = async (set: readonly string[]): Promise<boolean> => {
    calls++;
    const r = await runner.run({ file: compiler, args: ['-E', '-x', 'c', '/dev/null', '-o', '/dev/null', ...set], check: false, tailLines: 5 });
    return r.exitCode === 0 && r.signal === null;
  };
  const rejected: string[] = [];
  const bisect = async (set: readonly string[]): Promise<void> => {
    if (set.length === 0) return;
    if (await ok(set)) return;
    if (set.length === 1) {
      rejected.push(set[0]!);
      return;
    }
    const mid = Math.ceil(set.length / 2);
    await bisect(set.slice(0, mid));
    await bisect(set.slice(mid));
  };
  // Probe the compiler alone first, so a missing gcc is an error rather than "every flag rejected".
  try {
    await runner.run({ file: compiler, args: ['--version'], tailLines: 2 });
  } catch (err) {
    throw new ExecError([compiler, '--version'], err instanceof ExecError ? err.exitCode : null, null, [], {
      cause: err,
      message: `the host's compiler ${JSON.stringify(compiler)} (config build.compiler) cannot be run: ${(err as Error).message}`,
    });
  }
  calls++;
  await bisect(flags);
  const bad = new Set(rejected);
  return { accepted: flags.filter((f) => !bad.has(f)), rejected, calls };
}

/** The host's own `-march=native` resolution, or undefined when gcc cannot tell. */
export async function hostNative(runner: CommandRunner, compiler: string): Promise<ResolvedNative | undefined> {
  const r = await runner.run({
    file: compiler,
    args: ['-v', '-E', '-x', 'c', '-march=native', '-c', '/dev/null', '-o', '/dev/null'],
    check: false,
    tailLines: 200,
  });
  return r.exitCode === 0 ? parseCc1Line(r.stderrTail.join('\n')) : undefined;
}

/**
 * Instruction-set extensions the target enables (`-mavx512f`) that the host's CPU does not
 * have (host resolution says `-mno-avx512f` or does not mention it). Build steps that run a
 * freshly built binary (tests, code generators) would die with SIGILL on this host.
 */
export function missingOnHost(target: ResolvedNative, host: ResolvedNative): string[] {
  const hostHas = new Set(host.featureFlags.filter((f) => !f.startsWith('-mno-')).map((f) => f.slice(2)));
  return target.featureFlags.filter((f) => !f.startsWith('-mno-')).map((f) => f.slice(2)).filter((f) => !hostHas.has(f));
}
