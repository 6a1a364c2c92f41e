import { describe, expect, it } from 'vitest';
import { MAX_BUILD_ARGS, validateBuildArgs } from './build-args.js';

describe('validateBuildArgs', () => {
  it('passes atoms and options through unchanged, shell characters included (there is no shell)', () => {
    expect(validateBuildArgs(['--oneshot', '=app-misc/hello-1.0', '$(rm -rf /)', "a'b"])).toEqual(['--oneshot', '=app-misc/hello-1.0', '$(rm -rf /)', "a'b"]);
  });

  it('refuses NUL, newlines, empty, overlong and too many arguments, naming the argument', () => {
    expect(() => validateBuildArgs(['ok', 'a\0b'])).toThrow('emerge argument 2 contains a NUL or newline: "a\\u0000b"');
    expect(() => validateBuildArgs(['a\nb'])).toThrow('emerge argument 1 contains a NUL or newline');
    expect(() => validateBuildArgs([''])).toThrow('emerge argument 1 is empty');
    expect(() => validateBuildArgs(['x'.repeat(1025)])).toThrow('emerge argument 1 is longer than 1024 characters');
    expect(() => validateBuildArgs(Array(MAX_BUILD_ARGS + 1).fill('a'))).toThrow(`too many emerge arguments: ${MAX_BUILD_ARGS + 1}`);
    expect(() => validateBuildArgs([42])).toThrow('emerge argument 1 is not a string');
  });
});
