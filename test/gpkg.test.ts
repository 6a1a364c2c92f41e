import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '@binhost/shared';
import { checkGpkgManifest, parseGpkgManifest, readGpkg, readGpkgFile } from './helpers/gpkg.js';

const path = (name: string) => fileURLToPath(new URL(`./fixtures/portage/${name}`, import.meta.url));

describe('gpkg', () => {
  it('lists the members of the real unsigned gpkg and reads its Manifest', async () => {
    const info = await readGpkgFile(path('hello-1.0-1.gpkg.tar'));
    expect(info.basename).toBe('hello-1.0-1');
    expect(info.members.map((m) => [m.name, m.size])).toEqual([
      ['gpkg-1', 0],
      ['metadata.tar.zst', 4501],
      ['image.tar.zst', 1886],
      ['Manifest', 884],
    ]);
    expect(info.manifest.map((e) => [e.name, e.size, [...e.hashes.keys()]])).toEqual([
      ['gpkg-1', 0, ['SHA512', 'BLAKE2B']],
      ['metadata.tar.zst', 4501, ['SHA512', 'BLAKE2B']],
      ['image.tar.zst', 1886, ['SHA512', 'BLAKE2B']],
    ]);
    expect(info.manifest[0]!.hashes.get('SHA512')).toMatch(/^cf83e135/);
    expect(info.signed).toBe(false);
    expect(info.manifestSigned).toBe(false);
    expect(checkGpkgManifest(readFileSync(path('hello-1.0-1.gpkg.tar')), info)).toEqual([]);
  });

  it('recognises the real signed gpkg', async () => {
    const info = await readGpkgFile(path('signed/hello-1.0-1.gpkg.tar'));
    expect(info.members.map((m) => m.name)).toEqual([
      'gpkg-1', 'metadata.tar.zst', 'metadata.tar.zst.sig', 'image.tar.zst', 'image.tar.zst.sig', 'Manifest',
    ]);
    expect(info.manifestSigned).toBe(true);
    expect(info.signed).toBe(true);
    expect(info.manifest.map((e) => e.name)).toEqual(['gpkg-1', 'metadata.tar.zst', 'metadata.tar.zst.sig', 'image.tar.zst', 'image.tar.zst.sig']);
  });

  it('finds a flipped byte inside a member', () => {
    const buf = Buffer.from(readFileSync(path('hello-1.0-1.gpkg.tar')));
    const info = readGpkg(buf);
    const image = info.members.find((m) => m.name === 'image.tar.zst')!;
    buf[image.offset + 100]! ^= 0xff;
    expect(checkGpkgManifest(buf, info)).toEqual(['image.tar.zst']);
  });

  it('refuses what is not a well-formed gpkg, naming the source', () => {
    const buf = readFileSync(path('hello-1.0-1.gpkg.tar'));
    expect(() => readGpkg(buf.subarray(0, 1000), 'x.gpkg.tar')).toThrow('x.gpkg.tar: truncated tar');
    const corrupt = Buffer.from(buf);
    corrupt[0] = 0x41;
    expect(() => readGpkg(corrupt, 'x.gpkg.tar')).toThrow('x.gpkg.tar: bad tar header checksum at offset 0');
    expect(() => readGpkg(readFileSync(path('hello-1.0.tbz2')), 'hello.tbz2')).toThrow(InvalidArgumentError);
    expect(() => parseGpkgManifest('DATA a 12 SHA512\n', 'M')).toThrow('M:1: malformed DATA line');
  });
});
