import { ExecError, NATIVE_ARGS, parseCc1Line, type CommandRunner, type ResolvedNative } from '@binhost/shared';

// The host's side of `-march=native`: checking flags against its gcc, and its own CPU. The
// parsing and the replacement words are shared's (portage/native-flags.ts).

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
    args: NATIVE_ARGS,
    check: false,
    tailLines: 200,
  });
  return r.exitCode === 0 ? parseCc1Line(r.stderrTail.join('\n')) : undefined;
}
