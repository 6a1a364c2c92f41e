import { basename } from 'node:path';
import { errnoCode, errorMessage, type NativeFlags } from '@binhost/shared';
import { spawnCompiler, type CompilerRunner } from './run-compiler.js';

/** The guide's command, minus the compiler: `gcc -v -E -x c -march=native -c /dev/null -o /dev/null`. */
export const NATIVE_ARGS = ['-v', '-E', '-x', 'c', '-march=native', '-c', '/dev/null', '-o', '/dev/null'] as const;

/** What the compiler's `-v` output says besides the flags. */
export interface CompilerFacts {
  native: NativeFlags;
  /** "12.2.0" from "gcc version 12.2.0 (…)"; empty when unknown. */
  gccVersion: string;
  /** From "Target: x86_64-linux-gnu"; empty when unknown. */
  target: string;
}

/**
 * Parses the output of `CC -v -E -x c -march=native …` into the resolved flags. The cc1 line (the
 * one the guide finds with `grep /cc1 | grep mtune`) carries them: `-march=`, `-mtune=`, every
 * other `-m…`/`-mno-…` in the compiler's order, and `--param NAME=VALUE` pairs, reported as the
 * single-word `--param=NAME=VALUE` so they can go into CFLAGS as they are. Returns undefined when
 * there is no such line.
 */
export function parseNativeFlags(output: string): Omit<NativeFlags, 'compiler'> | undefined {
  const line = output.split('\n').find((l) => {
    const first = l.trim().split(/\s+/)[0] ?? '';
    return /^cc1(plus)?$/.test(basename(first)) && /\s-march=/.test(l);
  });
  if (!line) return undefined;
  const words = line.trim().split(/\s+/);
  const flags: Omit<NativeFlags, 'compiler'> = { known: true, march: '', mtune: '', featureFlags: [], params: [], error: '' };
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-march=')) flags.march = w.slice('-march='.length);
    else if (w.startsWith('-mtune=')) flags.mtune = w.slice('-mtune='.length);
    else if (w === '--param' && i + 1 < words.length) flags.params.push(`--param=${words[++i]!}`);
    else if (w.startsWith('--param=')) flags.params.push(w);
    else if (w.startsWith('-m')) flags.featureFlags.push(w);
  }
  return flags.march ? flags : undefined;
}

/** Extracts the compiler version and target triple from `-v` output. */
export function parseCompilerInfo(output: string): { gccVersion: string; target: string } {
  return {
    gccVersion: /^(?:gcc|clang) version (\S+)/m.exec(output)?.[1] ?? '',
    target: /^Target: (\S+)/m.exec(output)?.[1] ?? '',
  };
}

/** Options for {@link resolveNativeFlags}. */
export interface ResolveOptions {
  /** make.conf's CC, split into words; when set it is the only compiler tried. */
  cc?: readonly string[] | undefined;
  /** make.conf's CHOST: `${CHOST}-gcc` is tried before plain `gcc`. */
  chost?: string | undefined;
  run?: CompilerRunner;
}

/**
 * Runs the compiler the target's make.conf names (CC; else `${CHOST}-gcc`, falling back to `gcc`
 * when that does not exist; else `gcc`) with {@link NATIVE_ARGS} and parses what it says. Never
 * throws: a missing or failing compiler gives `known: false` and the reason in `error`.
 */
export async function resolveNativeFlags(options: ResolveOptions): Promise<CompilerFacts> {
  const run = options.run ?? spawnCompiler;
  const candidates: (readonly string[])[] = options.cc?.length
    ? [options.cc]
    : options.chost
      ? [[`${options.chost}-gcc`], ['gcc']]
      : [['gcc']];
  let lastError = '';
  for (const [i, cmd] of candidates.entries()) {
    const compiler = cmd.join(' ');
    let res;
    try {
      res = await run([...cmd, ...NATIVE_ARGS]);
    } catch (err) {
      lastError = errnoCode(err) === 'ENOENT' ? `compiler not found: ${compiler}` : `cannot run ${compiler}: ${errorMessage(err)}`;
      if (errnoCode(err) === 'ENOENT' && i < candidates.length - 1) continue;
      return unknown(compiler, lastError);
    }
    const info = parseCompilerInfo(res.output);
    if (res.exitCode !== 0) {
      const tail = res.output.trim().split('\n').slice(-1)[0] ?? '';
      const how = res.exitCode === null ? 'was killed' : `exited with code ${res.exitCode}`;
      return { ...unknown(compiler, `${compiler} ${how}${tail ? `: ${tail}` : ''}`), ...info };
    }
    const parsed = parseNativeFlags(res.output);
    if (!parsed) return { ...unknown(compiler, `${compiler} printed no cc1 line with -march (is it gcc?)`), ...info };
    return { native: { ...parsed, compiler }, ...info };
  }
  return unknown('gcc', lastError);
}

function unknown(compiler: string, error: string): CompilerFacts {
  return { native: { known: false, march: '', mtune: '', featureFlags: [], params: [], compiler, error }, gccVersion: '', target: '' };
}
