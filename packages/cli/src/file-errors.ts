import { AgentError, errnoCode, errorMessage } from '@binhost/shared';

/** A local file that could not be read, in words: "no such file", "permission denied", … */
function why(err: unknown): string {
  switch (errnoCode(err)) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    default:
      return errorMessage(err);
  }
}

/**
 * Runs `read` of a file the user named; its failure becomes `WHAT: no such file` (exit 1), where
 * WHAT names the option or argument and the file (`--stage3 /x.tar.xz`), instead of Node's
 * `ENOENT: no such file or directory, open '/x.tar.xz'`.
 */
export async function readUserFile<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!errnoCode(err)) throw err;
    throw new AgentError(`${what}: ${why(err)}`, undefined, { cause: err });
  }
}
