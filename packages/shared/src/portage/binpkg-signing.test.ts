import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import { applyIncrementalTokens, enableBinpkgSigningText, hasBinpkgSigning } from './binpkg-signing.js';
import { parseMakeConf } from './make-conf.js';

const FIXTURE = readFileSync(fileURLToPath(new URL('../../../../test/fixtures/portage/binhost-make.conf', import.meta.url)), 'utf8');
const OPTS = { signingGpgHome: '/var/lib/binhost/gnupg', signingKey: 'A1C4469EE81EF44CBA0CB5DA340EA36BE813955C' };

describe('binpkg signing in make.conf', () => {
  it('appends FEATURES and the BINPKG_GPG_* keys to the real make.conf, keeping its bytes', () => {
    const out = enableBinpkgSigningText(FIXTURE, OPTS);
    expect(out.startsWith(FIXTURE)).toBe(true);
    const conf = parseMakeConf(out);
    expect(hasBinpkgSigning(conf)).toBe(true);
    expect(conf.values.get('BINPKG_FORMAT')).toBe('gpkg');
    expect(conf.values.get('BINPKG_GPG_SIGNING_GPG_HOME')).toBe('/var/lib/binhost/gnupg');
    expect(conf.values.get('BINPKG_GPG_VERIFY_GPG_HOME')).toBe('/var/lib/binhost/gnupg');
    expect(conf.values.get('BINPKG_GPG_SIGNING_KEY')).toBe(OPTS.signingKey);
    expect(conf.values.get('CFLAGS')).toBe('-O2 -pipe -march=x86-64-v3');
    expect(enableBinpkgSigningText(out, OPTS)).toBe(out);
  });

  it('edits an existing FEATURES in place, dropping -binpkg-signing and keeping references', () => {
    const text = 'FEATURES="buildpkg"\nFEATURES="${FEATURES} -binpkg-signing  parallel-fetch" # mine\nBINPKG_FORMAT="xpak"\n';
    const out = enableBinpkgSigningText(text, { ...OPTS, verifyGpgHome: '/v' });
    expect(out.split('\n').slice(0, 3)).toEqual([
      'FEATURES="buildpkg"',
      'FEATURES="${FEATURES} parallel-fetch binpkg-signing" # mine',
      'BINPKG_FORMAT="gpkg"',
    ]);
    const conf = parseMakeConf(out);
    expect(conf.values.get('FEATURES')).toBe('buildpkg parallel-fetch binpkg-signing');
    expect(conf.values.get('BINPKG_GPG_VERIFY_GPG_HOME')).toBe('/v');
  });

  it('reads incremental tokens like Portage', () => {
    expect([...applyIncrementalTokens(['a', 'b'], '-a c -* d')]).toEqual(['d']);
    expect(hasBinpkgSigning(parseMakeConf('FEATURES="-binpkg-signing"\n'), ['binpkg-signing'])).toBe(false);
    expect(hasBinpkgSigning(parseMakeConf('FEATURES="x"\n'), ['binpkg-signing'])).toBe(true);
  });

  it('refuses values that cannot be written safely', () => {
    expect(() => enableBinpkgSigningText('', { ...OPTS, signingKey: '' })).toThrow(InvalidArgumentError);
    expect(() => enableBinpkgSigningText('', { ...OPTS, signingGpgHome: '/a"b' })).toThrow('BINPKG_GPG_SIGNING_GPG_HOME must be');
  });
});
