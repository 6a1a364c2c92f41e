import { describe, expect, it } from 'vitest';
import { referencedNames, tokenizeMakeConf, type Assignment } from '@binhost/shared';
import { explicitCpuWords, flagVariableClosure, nativeUse, parseConfFile, rewriteConfFile } from './make-conf-rewrite.js';
import { MakeConfSyntaxError } from '@binhost/shared';

const assigns = (text: string): Assignment[] => tokenizeMakeConf(text, 'make.conf').filter((s): s is Assignment => s.kind === 'assign');

describe('tokenizeMakeConf', () => {
  it('reads quoted, unquoted, exported and continued assignments with their lines', () => {
    const text = [
      '# comment',
      'COMMON_FLAGS="-O2 -pipe ${EXTRA}"',
      "USE='a b' # trailing comment",
      'export MAKEOPTS=-j4',
      'CFLAGS="${COMMON_FLAGS} \\',
      '  -march=native"',
      'A=x B=$A',
      'EMPTY=""',
      "MIX='lit$x'\"\\$y\"",
    ].join('\n');
    const a = assigns(text);
    expect(a.map((s) => [s.key, s.words, s.line, s.exported])).toEqual([
      ['COMMON_FLAGS', ['-O2', '-pipe', '${EXTRA}'], 2, false],
      ['USE', ['a', 'b'], 3, false],
      ['MAKEOPTS', ['-j4'], 4, true],
      ['CFLAGS', ['${COMMON_FLAGS}', '-march=native'], 5, false],
      ['A', ['x'], 7, false],
      ['B', ['$A'], 7, false],
      ['EMPTY', [], 8, false],
      // Portage expands $ inside single quotes too (varexpand runs after shlex)
      ['MIX', ['lit$x\\$y'], 9, false],
    ]);
    expect(text.slice(a[3]!.start, a[3]!.end)).toBe('CFLAGS="${COMMON_FLAGS} \\\n  -march=native"');
  });

  it('finds ${VAR} and $VAR references but not escaped ones', () => {
    expect(referencedNames('${A}x$B\\$C${D:-x}')).toEqual(['A', 'B', 'D']);
  });

  it.each([
    ['CFLAGS="-O2\n', 1, 'unterminated double quote'],
    ["X=1\nUSE='a b\n", 2, 'unterminated single quote'],
    ['X=1\n\nthis is not an assignment\n', 3, 'expected KEY=value'],
    ['X=1\n1BAD=2\n', 2, 'expected KEY=value'],
  ])('refuses %j naming the line', (text, line, detail) => {
    const err = (() => {
      try {
        tokenizeMakeConf(text, 'etc/portage/make.conf');
      } catch (e) {
        return e;
      }
      return undefined;
    })() as MakeConfSyntaxError;
    expect(err).toBeInstanceOf(MakeConfSyntaxError);
    expect(err.line).toBe(line);
    expect(err.message).toMatch(new RegExp(`^etc/portage/make\\.conf:${line}: ${detail}`));
  });
});

describe('rewriteConfFile', () => {
  it('follows references from flag variables and marks every rewrite', () => {
    const text = [
      'MY_ARCH="-march=native"',
      'COMMON_FLAGS="${MY_ARCH} -O2 -pipe"',
      'CFLAGS="${COMMON_FLAGS}"',
      'OTHER="-march=native"',
      'FEATURES="getbinpkg parallel-fetch"',
      'PKGDIR=/var/cache/binpkgs',
      'source /etc/portage/extra.conf',
      'USE="X"',
      '',
    ].join('\n');
    const f = parseConfFile('etc/portage/make.conf', text);
    const vars = flagVariableClosure([f]);
    expect(vars.has('MY_ARCH')).toBe(true);
    expect(vars.has('OTHER')).toBe(false);
    expect(nativeUse([f], vars)).toEqual({ march: true, mtune: false });
    const r = rewriteConfFile(f, vars, { march: ['-march=znver3', '-mavx2'], mtune: [] });
    expect(r.text).toBe(
      [
        '# binhost: was MY_ARCH="-march=native"',
        'MY_ARCH="-march=znver3 -mavx2"',
        'COMMON_FLAGS="${MY_ARCH} -O2 -pipe"',
        'CFLAGS="${COMMON_FLAGS}"',
        'OTHER="-march=native"',
        '# binhost: was FEATURES="getbinpkg parallel-fetch"',
        'FEATURES="parallel-fetch"',
        '# binhost: removed PKGDIR=/var/cache/binpkgs',
        '# binhost: removed source /etc/portage/extra.conf',
        'USE="X"',
        '',
      ].join('\n'),
    );
    expect(r.rewrites.map((w) => [w.key, w.before, w.after])).toEqual([
      ['MY_ARCH', '-march=native', '-march=znver3 -mavx2'],
      ['FEATURES', 'getbinpkg parallel-fetch', 'parallel-fetch'],
      ['PKGDIR', '/var/cache/binpkgs', ''],
      ['source', '/etc/portage/extra.conf', ''],
    ]);
    // The rewritten file parses again to the same flags.
    const again = parseConfFile('x', r.text);
    expect(again.statements.filter((s) => s.kind === 'assign').map((s) => (s as Assignment).key)).toContain('MY_ARCH');
  });

  it('leaves a file without anything to scrub byte for byte', () => {
    const text = '# mine\nCFLAGS="-O2 -pipe"\n\nUSE="-X  wayland"   # spaces kept\n';
    const f = parseConfFile('make.conf', text);
    expect(rewriteConfFile(f, flagVariableClosure([f]), undefined)).toEqual({ file: 'make.conf', text, rewrites: [] });
  });
});

describe('explicitCpuWords', () => {
  it('lists the target\'s own -march/-mtune choices in flag variables, not native, references or other variables', () => {
    const files = [
      parseConfFile('etc/portage/make.conf', 'COMMON_FLAGS="-O2 -march=znver3 -mtune=${TUNE}"\nCFLAGS="${COMMON_FLAGS} -mtune=native"\nOTHER="-march=haswell"\n'),
      parseConfFile('etc/portage/env/old-cpu', 'CXXFLAGS="-march=x86-64-v2"\n'),
    ];
    expect(explicitCpuWords(files, flagVariableClosure(files))).toEqual([
      { word: '-march=znver3', where: 'etc/portage/make.conf: COMMON_FLAGS' },
      { word: '-march=x86-64-v2', where: 'etc/portage/env/old-cpu: CXXFLAGS' },
    ]);
  });
});
