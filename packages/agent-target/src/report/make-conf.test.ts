import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FileKind, makeConfValues } from '@binhost/shared';
import { makeConfVars, splitWords } from './make-conf.js';

const parseMakeConf = (text: string) => makeConfValues(text, 'etc/portage/make.conf');

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/portage/${name}`, import.meta.url)), 'utf8');

describe('makeConfVars (shared make.conf reader)', () => {
  it('reads the real harness make.conf', () => {
    const vars = parseMakeConf(fixture('binhost-make.conf'));
    expect(vars.get('CFLAGS')).toBe('-O2 -pipe -march=x86-64-v3');
    expect(vars.get('LC_MESSAGES')).toBe('C.utf8');
  });

  it('handles quotes, multi-line values, expansion, export and comments', () => {
    const vars = parseMakeConf(
      [
        '# comment',
        'CHOST="x86_64-pc-linux-gnu"',
        "COMMON_FLAGS='-O2 -pipe'  # trailing comment",
        'CFLAGS="${COMMON_FLAGS} -march=native"',
        'export CC=${CHOST}-gcc',
        'USE="a',
        '  b"',
        'source /etc/portage/other.conf',
        'LITERAL=\'$CHOST\'',
      ].join('\n'),
    );
    expect(Object.fromEntries(vars)).toEqual({
      CHOST: 'x86_64-pc-linux-gnu',
      COMMON_FLAGS: '-O2 -pipe',
      CFLAGS: '-O2 -pipe -march=native',
      CC: 'x86_64-pc-linux-gnu-gcc',
      USE: 'a b',
      // Portage expands $ inside single quotes too (its varexpand runs after shlex)
      LITERAL: 'x86_64-pc-linux-gnu',
    });
  });

  it('leaves out a file Portage could not read', () => {
    const f = (path: string, text: string) => ({ path, kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from(text), linkTarget: '' });
    expect(Object.fromEntries(makeConfVars([f('etc/portage/make.conf/10-a', 'CC=clang\n'), f('etc/portage/make.conf/20-b', 'CHOST="unterminated\n')]))).toEqual({ CC: 'clang' });
  });

  it('reads a make.conf directory in name order, later files winning', () => {
    const f = (path: string, text: string) => ({ path, kind: FileKind.FILE_KIND_REGULAR, mode: 0o644, content: Buffer.from(text), linkTarget: '' });
    const vars = makeConfVars([f('etc/portage/make.conf/20-cc', 'CC="clang"\n'), f('etc/portage/make.conf/10-base', 'CHOST=x\nCC=gcc\n')]);
    expect(vars.get('CC')).toBe('clang');
    expect(vars.get('CHOST')).toBe('x');
    expect(splitWords(' ccache  gcc -m64 ')).toEqual(['ccache', 'gcc', '-m64']);
  });
});
