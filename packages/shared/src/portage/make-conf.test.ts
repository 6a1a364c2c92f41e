import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  MakeConfSyntaxError,
  applyMakeConfEdits,
  lastAssignment,
  parseMakeConf,
  quoteMakeConfValue,
  replaceMakeConfValue,
  serializeMakeConf,
} from './make-conf.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/portage/${name}`, import.meta.url)), 'utf8');

describe('make.conf', () => {
  it('reads the real binhost make.conf, following ${COMMON_FLAGS}', () => {
    const conf = parseMakeConf(fixture('binhost-make.conf'), { file: 'binhost-make.conf' });
    expect(conf.values.get('CFLAGS')).toBe('-O2 -pipe -march=x86-64-v3');
    expect(conf.values.get('FFLAGS')).toBe('-O2 -pipe -march=x86-64-v3');
    expect(conf.values.get('LC_MESSAGES')).toBe('C.utf8');
    expect(conf.assignments.map((a) => a.name)).toEqual(['COMMON_FLAGS', 'CFLAGS', 'CXXFLAGS', 'FCFLAGS', 'FFLAGS', 'LC_MESSAGES']);
    const cflags = lastAssignment(conf, 'CFLAGS')!;
    expect(cflags.raw).toBe('"${COMMON_FLAGS}"');
    expect(cflags.references).toEqual(['COMMON_FLAGS']);
    expect(cflags.line).toBe(3);
  });

  it('handles quotes, $VAR, escapes, continuations, export and comments', () => {
    const text = [
      '# comment',
      'A=one',
      "B='${A} literal'",
      'C="$A ${A}\\"q\\" \\$x"',
      'export D="multi',
      'line"  # trailing comment',
      'E=a\\',
      'b',
      'F=',
      'G=x#notcomment',
      'H = "spaced"',
      'A="${A} two"',
    ].join('\n');
    const conf = parseMakeConf(text);
    const v = (n: string) => conf.values.get(n);
    expect(v('B')).toBe('${A} literal');
    expect(v('C')).toBe('one one"q" $x');
    expect(v('D')).toBe('multi\nline');
    expect(lastAssignment(conf, 'D')!.exported).toBe(true);
    expect(v('E')).toBe('ab');
    expect(v('F')).toBe('');
    expect(v('G')).toBe('x#notcomment');
    expect(v('H')).toBe('spaced');
    expect(v('A')).toBe('one two');
    expect(conf.assignments.filter((a) => a.name === 'A')).toHaveLength(2);
  });

  it('reads CRLF line endings like LF ones', () => {
    const conf = parseMakeConf('A="x"\r\nB=y\r\n# c\r\nC=\'z\'\r\n');
    expect([...conf.values]).toEqual([['A', 'x'], ['B', 'y'], ['C', 'z']]);
  });

  it('sees values given from outside (the profile) and unknown references as empty', () => {
    const conf = parseMakeConf('USE="${USE} foo $NOPE"\n', { vars: { USE: 'amd64' } });
    expect(conf.values.get('USE')).toBe('amd64 foo ');
  });

  it('names file and line of unparseable input', () => {
    const bad: Array<[string, string]> = [
      ['A=1\nB="open\nC=2\n', '/etc/portage/make.conf:2: unterminated double quote in the value of B'],
      ["A=1\n\nB='x\n", "/etc/portage/make.conf:3: unterminated single quote in the value of B"],
      ['source /etc/other.conf\n', '/etc/portage/make.conf:1: "source" is not supported'],
      ['A=1 2\n', '/etc/portage/make.conf:1: unexpected text after the value of A'],
      ['just words\n', '/etc/portage/make.conf:1: expected "=" after just'],
      ['A="${B:-x}"\n', '/etc/portage/make.conf:1: unsupported parameter expansion'],
      ['=x\n', '/etc/portage/make.conf:1: expected NAME=value'],
    ];
    for (const [text, message] of bad) {
      const err = (() => {
        try {
          parseMakeConf(text, { file: '/etc/portage/make.conf' });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, text).toBeInstanceOf(MakeConfSyntaxError);
      expect((err as Error).message).toContain(message);
    }
  });

  it('replaces one value and keeps every other byte', () => {
    const text = fixture('binhost-make.conf');
    const conf = parseMakeConf(text);
    const out = replaceMakeConfValue(conf, 'COMMON_FLAGS', '-O2 -pipe -march=znver3');
    expect(out).toBe(text.replace('"-O2 -pipe -march=x86-64-v3"', '"-O2 -pipe -march=znver3"'));
    expect(parseMakeConf(out).values.get('CXXFLAGS')).toBe('-O2 -pipe -march=znver3');
    const appended = replaceMakeConfValue(conf, 'MAKEOPTS', '-j2');
    expect(appended).toBe(`${text}MAKEOPTS="-j2"\n`);
  });

  it('edits raw value text in place (several edits at once)', () => {
    const conf = parseMakeConf('X="-march=native ${Y}" # keep\nY=\'-mtune=native\'\n');
    const x = lastAssignment(conf, 'X')!;
    const y = lastAssignment(conf, 'Y')!;
    const out = applyMakeConfEdits(conf, [
      { assignment: y, raw: y.raw.replace('-mtune=native', '-mtune=znver3') },
      { assignment: x, raw: x.raw.replace('-march=native', '-march=znver3') },
    ]);
    expect(out).toBe('X="-march=znver3 ${Y}" # keep\nY=\'-mtune=znver3\'\n');
  });

  it('serializes values so that parsing gives them back', () => {
    const entries: Array<[string, string]> = [['CFLAGS', '-O2 "quoted" $dollar `tick` back\\slash'], ['EMPTY', '']];
    const text = serializeMakeConf(entries, 'written by binhost');
    expect(text.startsWith('# written by binhost\n')).toBe(true);
    expect([...parseMakeConf(text).values]).toEqual(entries);
    expect(quoteMakeConfValue('a$b')).toBe('"a\\$b"');
    expect(() => serializeMakeConf([['BAD NAME', 'x']])).toThrow('invalid variable name');
  });
});
