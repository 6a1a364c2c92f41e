import { startCommand } from '@binhost/shared';

/** What one compiler run gave: exit code (null when killed), and stdout+stderr interleaved. */
export interface CompilerOutput {
  exitCode: number | null;
  output: string;
}

/**
 * Runs a compiler (argv, no shell) and returns its output; rejects with the spawn error
 * (`ENOENT` when it does not exist). A seam: tests replace it to feed recorded output.
 */
export type CompilerRunner = (argv: readonly string[]) => Promise<CompilerOutput>;

/** Output kept per run: gcc -v prints a few KiB; anything beyond this is not a compiler talking. */
const MAX_OUTPUT = 1024 * 1024;
/** A compiler that has not answered `-E /dev/null` in this long is hung. */
const TIMEOUT_MS = 30_000;

/** The default {@link CompilerRunner}: shared's process starter, with bounded output and a timeout. */
export const spawnCompiler: CompilerRunner = async (argv) => {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty compiler command');
  let output = '';
  const take = (line: string) => {
    if (output.length < MAX_OUTPUT) output += `${line}\n`;
  };
  // LC_ALL=C: gcc translates "gcc version" and friends otherwise.
  const { exitCode, startError } = await startCommand({
    file,
    args,
    env: { ...process.env, LC_ALL: 'C' },
    timeoutMs: TIMEOUT_MS,
    check: false,
    tailLines: 1,
    onStdoutLine: take,
    onStderrLine: take,
  }).ended;
  if (startError) throw startError;
  return { exitCode, output };
};
