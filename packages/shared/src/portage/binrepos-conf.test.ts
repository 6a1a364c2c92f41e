import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { parseBinreposConf, readBinreposConf, resolveBinrepoLocation, serializeBinreposConf } from './binrepos-conf.js';

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/portage/target-binrepos.conf', import.meta.url));

describe('binrepos.conf', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binrepos-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the real target binrepos.conf', async () => {
    const [repo, ...rest] = parseBinreposConf(await readFile(FIXTURE, 'utf8'), FIXTURE);
    expect(rest).toEqual([]);
    expect(repo).toMatchObject({ name: 'binhost', syncUri: 'http://127.0.0.1:49225', priority: 10, verifySignature: false });
    expect(repo!.location).toBe('%(EROOT)svar/cache/binhost/binhost');
    expect(resolveBinrepoLocation(repo!, { EROOT: '/target/' })).toBe('/target/var/cache/binhost/binhost');
  });

  it('writes what it reads back to the same repos', async () => {
    const repos = parseBinreposConf(await readFile(FIXTURE, 'utf8'));
    expect(parseBinreposConf(serializeBinreposConf(repos))).toEqual(repos);
    const fresh = serializeBinreposConf([{ name: 'binhost', syncUri: 'https://h:1/x', priority: 10, verifySignature: true }]);
    expect(fresh).toBe('[binhost]\nsync-uri = https://h:1/x\npriority = 10\nverify-signature = true\n');
  });

  it('uses Portage\'s default location and configparser booleans', () => {
    const [a, b] = parseBinreposConf('[a]\nsync-uri: http://a\nverify-signature = Yes\n[b]\nsync-uri=http://b\nverify-signature=0\n');
    expect(a!.verifySignature).toBe(true);
    expect(b!.verifySignature).toBe(false);
    expect(resolveBinrepoLocation(a!, { EPREFIX: '/' })).toBe('/var/cache/binhost/a');
  });

  it('reads a directory of files, merging sections like configparser', async () => {
    const d = join(dir, 'binrepos.conf');
    await mkdir(d);
    await writeFile(join(d, 'a.conf'), '[gentoobinhost]\nsync-uri = https://distfiles.gentoo.org/x\npriority = 1\n');
    await writeFile(join(d, 'b.conf'), '[binhost]\nsync-uri = http://h\n[gentoobinhost]\npriority = 5\n');
    await writeFile(join(d, 'c.conf~'), '[ignored]\nsync-uri = http://x\n');
    await writeFile(join(d, '.hidden'), '[ignored2]\nsync-uri = http://x\n');
    const repos = await readBinreposConf(d);
    expect(repos.map((r) => [r.name, r.priority])).toEqual([['gentoobinhost', 5], ['binhost', undefined]]);
    expect(await readBinreposConf(join(dir, 'missing'))).toEqual([]);
  });

  it('names file, line and key of bad input', () => {
    const cases: Array<[string, string]> = [
      ['sync-uri = http://x\n', 'f.conf:1: sync-uri: key outside of any [section]'],
      ['[a]\nno equals here\n', 'f.conf:2: expected "key = value"'],
      ['[a]\npriority = 1\n', 'f.conf:1: [a]: sync-uri is required'],
      ['[a]\nsync-uri = x\npriority = high\n', 'f.conf:1: [a] priority: expected an integer'],
      ['[a]\nsync-uri = x\nverify-signature = maybe\n', 'f.conf:1: [a] verify-signature: expected true or false'],
    ];
    for (const [text, msg] of cases) {
      expect(() => parseBinreposConf(text, 'f.conf'), text).toThrow(ConfigError);
      expect(() => parseBinreposConf(text, 'f.conf'), text).toThrow(msg);
    }
  });
});
