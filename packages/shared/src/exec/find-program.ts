import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/**
 * Where `program` would be run from, as `spawn` finds it: a path containing `/` as given,
 * otherwise the first executable of that name on PATH. Undefined when there is none.
 */
export async function findProgram(program: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = program.includes('/') ? [isAbsolute(program) ? program : resolve(program)] : path.split(delimiter).filter(Boolean).map((d) => join(d, program));
  for (const file of candidates) {
    if (await access(file, constants.X_OK).then(() => true, () => false)) return file;
  }
  return undefined;
}
