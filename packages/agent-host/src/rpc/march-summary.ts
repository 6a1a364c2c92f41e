import type { CommandRunner, Logger, MarchSummary, NativeFlags } from '@binhost/shared';

/** What `gcc -march=X -Q --help=target` says: each `-m<feature>` enabled or disabled. */
export type ImpliedFlags = ReadonlyMap<string, boolean>;

/**
 * Reads `gcc -Q --help=target` output: lines `  -mavx2   [enabled]` / `[disabled]`. Options
 * with a value (`-march=  znver3`) are not features and are skipped.
 */
export function parseTargetHelp(text: string): ImpliedFlags {
  const out = new Map<string, boolean>();
  for (const m of text.matchAll(/^\s+-m([a-z0-9][a-z0-9.-]*)\s+\[(enabled|disabled)\]\s*$/gm)) out.set(m[1]!, m[2] === 'enabled');
  return out;
}

/**
 * `-march=X` plus only the resolved flags that `-march=X` does not imply: the line an admin would
 * write. A flag the compiler does not list is kept (it cannot be shown to be implied).
 */
export function summarizeMarch(nf: NativeFlags, implied: ImpliedFlags | undefined, compiler: string, error = ''): MarchSummary {
  const differing = nf.featureFlags.filter((flag) => {
    if (!implied) return true;
    const no = flag.startsWith('-mno-');
    const on = implied.get(no ? flag.slice(5) : flag.slice(2));
    return on === undefined || on === no;
  });
  return { march: nf.march, mtune: nf.mtune, differingFlags: differing, impliedCount: nf.featureFlags.length - differing.length, compiler, error };
}

/** Options of {@link createMarchSummarizer}. */
export interface MarchSummarizerOptions {
  runner: CommandRunner;
  /** The host's compiler (config build.compiler). */
  compiler: () => string;
  log: Logger;
}

/**
 * Summarizes targets' resolved flags against the host's compiler for `binhostctl target config`
 * and `target show`. One `gcc -march=X -Q --help=target` per (compiler, X), kept for the life of
 * the host (a compiler upgrade needs a host restart to be seen, as for flag validation).
 */
export function createMarchSummarizer(options: MarchSummarizerOptions): (nf: NativeFlags) => Promise<MarchSummary | undefined> {
  const cache = new Map<string, Promise<ImpliedFlags>>();
  const implied = (compiler: string, march: string): Promise<ImpliedFlags> => {
    const key = `${compiler}\0${march}`;
    let p = cache.get(key);
    if (!p) {
      // The march word passed the report grammar ([a-z0-9][a-z0-9_.-]*) and is an argv word, never a shell word.
      p = options.runner.run({ file: compiler, args: [`-march=${march}`, '-Q', '--help=target'], env: { ...process.env, LC_ALL: 'C' }, tailLines: 2000 }).then((r) => parseTargetHelp(r.tail.join('\n')));
      cache.set(key, p);
      p.catch(() => cache.delete(key));
    }
    return p;
  };
  return async (nf) => {
    if (!nf.known || !nf.march) return undefined;
    const compiler = options.compiler();
    try {
      return summarizeMarch(nf, await implied(compiler, nf.march), compiler);
    } catch (err) {
      options.log.warn({ err, march: nf.march, compiler }, 'cannot ask the host compiler what -march implies');
      return summarizeMarch(nf, undefined, compiler, `the host's compiler ${compiler} could not say what -march=${nf.march} implies: ${(err as Error).message}`);
    }
  };
}
