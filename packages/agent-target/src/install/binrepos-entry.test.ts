import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeBinreposEntry } from './binrepos-entry.js';

describe('writeBinreposEntry', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'binrepos-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('writes its own file in binrepos.conf/, next to a stage3 gentoobinhost entry', async () => {
    await mkdir(join(root, 'etc/portage/binrepos.conf'), { recursive: true });
    await writeFile(join(root, 'etc/portage/binrepos.conf/gentoobinhost.conf'), '[gentoobinhost]\npriority = 1\nsync-uri = https://distfiles.gentoo.org/\n');
    const file = await writeBinreposEntry(root, 41234, '/var/lib/binhost-target/binpkgs');
    expect(file).toBe(join(root, 'etc/portage/binrepos.conf/binhost-agent.conf'));
    expect(await readFile(file, 'utf8')).toBe(
      '[binhost-agent]\nsync-uri = http://127.0.0.1:41234\npriority = 9999\nverify-signature = true\nlocation = /var/lib/binhost-target/binpkgs\n',
    );
    expect(await readFile(join(root, 'etc/portage/binrepos.conf/gentoobinhost.conf'), 'utf8')).toContain('gentoobinhost');
  });

  it('adds a marked section to a binrepos.conf file and replaces only that section later', async () => {
    const conf = join(root, 'etc/portage/binrepos.conf');
    await mkdir(join(root, 'etc/portage'), { recursive: true });
    await writeFile(conf, '[mine]\nsync-uri = http://example.invalid/\n');
    await writeBinreposEntry(root, 1111, '/loc');
    await writeBinreposEntry(root, 2222, '/loc');
    const text = await readFile(conf, 'utf8');
    expect(text.startsWith('[mine]\nsync-uri = http://example.invalid/\n\n# BEGIN binhost-agent')).toBe(true);
    expect(text).toContain('sync-uri = http://127.0.0.1:2222\n');
    expect(text).not.toContain('1111');
    expect(text.match(/\[binhost-agent\]/g)).toHaveLength(1);
    expect(text.endsWith('# END binhost-agent\n')).toBe(true);
  });

  it('never creates etc/portage itself', async () => {
    await expect(writeBinreposEntry(root, 1, '/loc')).rejects.toThrow(/etc\/portage does not exist; binrepos.conf entry not written/);
    await expect(readFile(join(root, 'etc/portage/binrepos.conf/binhost-agent.conf'))).rejects.toThrow(/ENOENT/);
  });
});
