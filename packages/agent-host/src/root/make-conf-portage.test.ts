import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { flagVariableClosure, parseConfFile, rewriteConfFile } from './make-conf-rewrite.js';

/** Real Portage's Python (scripts/portage.mjs installs it; `npm test` runs that first). */
const PYTHON = fileURLToPath(new URL('../../../../.portage/venv/bin/python', import.meta.url));

/** What real Portage's make.conf reader (portage.util.getconfig, as emerge calls it) makes of `text`. */
function portageReads(text: string): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'make-conf-'));
  try {
    writeFileSync(join(dir, 'make.conf'), text);
    const code = 'import json,sys\nfrom portage.util import getconfig\nprint(json.dumps(getconfig(sys.argv[1], tolerant=False, allow_sourcing=True, expand=True)))';
    return JSON.parse(execFileSync(PYTHON, ['-c', code, join(dir, 'make.conf')], { encoding: 'utf8' })) as Record<string, string>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const NATIVE = { march: ['-march=znver3', '-mavx2', '--param=l1-cache-size=32'], mtune: ['-mtune=znver3'] };

/**
 * The host rewrites a target's make.conf (scrubbed keys out, -march=native resolved). Whatever it
 * writes must read back, with Portage's own reader, as exactly the values the target's file had,
 * apart from what was meant to change.
 */
describe('make.conf rewrite, read back by real Portage', () => {
  it('finds real Portage', () => {
    expect(existsSync(PYTHON), `${PYTHON}: run node scripts/portage.mjs install`).toBe(true);
  });

  it.each([
    ['plain', 'COMMON_FLAGS="-O2 -pipe -march=native"\nCFLAGS="${COMMON_FLAGS}"\n'],
    ['single quotes (Portage expands $ in them too)', "X=-fomit-frame-pointer\nCFLAGS='-O2 $X -march=native'\nCXXFLAGS='${CFLAGS} \\$literal'\n"],
    ['escapes in double quotes', 'X=1\nCFLAGS="-O2 -DA=\\"q\\" -DB=\\$X -DC=$X -march=native -DD=`x` -DE=\\\\"\n'],
    ['continuations, export and comments', '# c\nexport CFLAGS="-O2 \\\n  -march=native -mtune=native" # tail\nLDFLAGS="-Wl,-O1"\n'],
    ['scrubbed keys and FEATURES words', 'FEATURES="getbinpkg sandbox"\nPKGDIR=/x\nCFLAGS="-march=native"\nUSE="a -b"\n'],
    ['mixed quoting in one word', "CFLAGS=\"-O2 \"'-march=native'\" -pipe\"\n"],
  ])('%s', (_name, text) => {
    const file = parseConfFile('etc/portage/make.conf', text);
    const flagVars = flagVariableClosure([file]);
    const rewritten = rewriteConfFile(file, flagVars, NATIVE).text;
    const expected = portageReads(text);
    for (const k of ['PKGDIR']) delete expected[k];
    for (const [k, v] of Object.entries(expected)) {
      let value = flagVars.has(k) ? v.replace('-march=native', NATIVE.march.join(' ')).replace('-mtune=native', NATIVE.mtune.join(' ')) : v;
      if (k === 'FEATURES') value = value.split(' ').filter((w) => w !== 'getbinpkg').join(' ');
      expected[k] = value;
    }
    // the host writes word lists: runs of blanks inside a value become one space
    const words = (values: Record<string, string>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v.split(/\s+/).filter(Boolean).join(' ')]));
    expect(words(portageReads(rewritten)), rewritten).toEqual(words(expected));
  });

  it('writes values with quotes, $, backticks and backslashes so that Portage reads exactly them', () => {
    // the report grammar refuses such flags; the serializer is the last line all the same
    const hostile = ['-DX="a b"', '$HOME', '${PATH}', '`id`', '$(id)', '\\q', "it's"];
    const file = parseConfFile('etc/portage/make.conf', 'CFLAGS="-march=native"\n');
    const rewritten = rewriteConfFile(file, flagVariableClosure([file]), { march: hostile, mtune: [] }).text;
    expect(portageReads(rewritten).CFLAGS).toBe(hostile.join(' '));
  });
});
