import { InvalidArgumentError } from '@binhost/shared';

/** Most arguments a manual build may have. */
export const MAX_BUILD_ARGS = 256;
/** Longest single argument (an atom, an option). */
const MAX_BUILD_ARG_LENGTH = 1024;

/**
 * Checks a manual build's emerge arguments, which come over the network: strings, none empty,
 * no NUL or newline (they would corrupt the argv or the log), bounded in number and length.
 * They are passed as argv entries, never through a shell, so quoting is not a concern.
 */
export function validateBuildArgs(args: readonly unknown[]): string[] {
  if (args.length > MAX_BUILD_ARGS) throw new InvalidArgumentError(`too many emerge arguments: ${args.length} (at most ${MAX_BUILD_ARGS})`);
  return args.map((arg, i) => {
    if (typeof arg !== 'string') throw new InvalidArgumentError(`emerge argument ${i + 1} is not a string`);
    const shown = JSON.stringify(arg.slice(0, 80));
    if (arg.length === 0) throw new InvalidArgumentError(`emerge argument ${i + 1} is empty`);
    if (arg.length > MAX_BUILD_ARG_LENGTH) throw new InvalidArgumentError(`emerge argument ${i + 1} is longer than ${MAX_BUILD_ARG_LENGTH} characters: ${shown}…`);
    if (/[\0\n\r]/.test(arg)) throw new InvalidArgumentError(`emerge argument ${i + 1} contains a NUL or newline: ${shown}`);
    return arg;
  });
}
