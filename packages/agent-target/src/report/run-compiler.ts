import { spawn } from 'node:child_process';

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

/** The default {@link CompilerRunner}: spawn with an argv array, bounded output and a timeout. */
export const spawnCompiler: CompilerRunner = (argv) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) {
      reject(new Error('empty compiler command'));
      return;
    }
    // LC_ALL=C: gcc translates "gcc version" and friends otherwise.
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
      timeout: TIMEOUT_MS,
    });
    let output = '';
    const take = (chunk: Buffer) => {
      if (output.length < MAX_OUTPUT) output += chunk.toString('utf8');
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code, output }));
  });
