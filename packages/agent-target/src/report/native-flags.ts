import { errnoCode, errorMessage, NATIVE_ARGS, parseCc1Line, type NativeFlags } from '@binhost/shared';
import { spawnCompiler, type CompilerRunner } from './run-compiler.js';

/** What the compiler's `-v` output says besides the flags. */
export interface CompilerFacts {
  native: NativeFlags;
  /** "12.2.0" from "gcc version 12.2.0 (…)"; empty when unknown. */
  gccVersion: string;
  /** From "Target: x86_64-linux-gnu"; empty when unknown. */
  target: string;
}

/**
 * The resolved flags from the output of `CC -v -E -x c -march=native …` (shared's cc1-line
 * parser), as the target reports them; undefined when there is no cc1 line with `-march=`.
 */
export function parseNativeFlags(output: string): Omit<NativeFlags, 'compiler'> | undefined {
  const r = parseCc1Line(output);
  return r && { known: true, ...r, error: '' };
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
