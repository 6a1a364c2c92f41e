import { basename } from 'node:path';
import type { NativeFlags } from '../api.js';

/**
 * What `-march=native` stands for, read from gcc: the one parser of the project. The target
 * resolves its own CPU with it, the host its CPU (to warn about instructions it lacks) and the
 * flags it writes into a root.
 */

/** The guide's command, minus the compiler: `gcc -v -E -x c -march=native -c /dev/null -o /dev/null`. */
export const NATIVE_ARGS: readonly string[] = ['-v', '-E', '-x', 'c', '-march=native', '-c', '/dev/null', '-o', '/dev/null'];

/** The flags `-march=native` stands for. */
export interface ResolvedNative {
  march: string;
  mtune: string;
  /** `-mavx2`, `-mno-xop`, … (and `-m<option>=<value>` words of other architectures) in gcc's order. */
  featureFlags: string[];
  /** `--param=l1-cache-size=48`, … (one word each, so they can go into CFLAGS as they are). */
  params: string[];
}

/**
 * Parses the output of `CC -v -E -x c -march=native …`: the cc1 line (the one the guide finds
 * with `grep /cc1 | grep mtune`) carries `-march=`, `-mtune=`, every other `-m…` word, and
 * `--param NAME=VALUE` pairs. Undefined when there is no cc1 line with a resolved `-march=`.
 */
export function parseCc1Line(output: string): ResolvedNative | undefined {
  // the line whose program is cc1 (not a shell transcript that mentions it)
  const line = output.split('\n').find((l) => /^cc1(plus)?$/.test(basename(l.trim().split(/\s+/)[0] ?? '')) && /\s-march=(?!native\b)/.test(l));
  if (!line) return undefined;
  const words = line.trim().split(/\s+/);
  const r: ResolvedNative = { march: '', mtune: '', featureFlags: [], params: [] };
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-march=')) r.march = w.slice('-march='.length);
    else if (w.startsWith('-mtune=')) r.mtune = w.slice('-mtune='.length);
    else if (w === '--param' && i + 1 < words.length) r.params.push(`--param=${words[++i]!}`);
    else if (w.startsWith('--param=')) r.params.push(w);
    else if (w.startsWith('-m')) r.featureFlags.push(w);
  }
  return r.march ? r : undefined;
}

/** A target's reported NativeFlags as {@link ResolvedNative} (params as single `--param=…` words). */
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

/**
 * Instruction-set extensions the target enables (`-mavx512f`) that the host's CPU does not
 * have (host resolution says `-mno-avx512f` or does not mention it). Build steps that run a
 * freshly built binary (tests, code generators) would die with SIGILL on this host.
 */
export function missingOnHost(target: ResolvedNative, host: ResolvedNative): string[] {
  const features = (r: ResolvedNative) => r.featureFlags.filter((f) => !f.startsWith('-mno-') && !f.includes('=')).map((f) => f.slice(2));
  const hostHas = new Set(features(host));
  return features(target).filter((f) => !hostHas.has(f));
}
