import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parsePackagesIndex, serializePackagesIndex, indexValue } from './packages-index.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/portage/${name}`, import.meta.url)), 'utf8');

describe('Packages index', () => {
  it('round-trips the real Portage 3.0.82 index byte for byte', () => {
    for (const name of ['Packages', 'Packages.xpak-non-multi-instance', 'signed/Packages']) {
      const text = fixture(name);
      expect(serializePackagesIndex(parsePackagesIndex(text))).toBe(text);
    }
  });

  it('reads the header and each instance', () => {
    const index = parsePackagesIndex(fixture('Packages'));
    expect(indexValue(index.header, 'PACKAGES')).toBe('3');
    expect(index.packages.map((p) => indexValue(p, 'CPV'))).toEqual(['app-misc/greet-1.0', 'app-misc/hello-1.0', 'app-misc/hello-user-1.0']);
    const hello = index.packages[1]!;
    expect(indexValue(hello, 'PATH')).toBe('app-misc/hello/hello-1.0-1.gpkg.tar');
    expect(indexValue(hello, 'SIZE')).toBe('20480');
    expect(indexValue(hello, 'MD5')).toBe('54bb14ed4bf3be2ee23c75688bd66f1b');
  });

  it('names the line of a malformed entry', () => {
    expect(() => parsePackagesIndex('VERSION: 0\n\ngarbage\n', '/x/Packages')).toThrow('/x/Packages:3: expected "KEY: value"');
  });
});
