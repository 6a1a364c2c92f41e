import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileEntry, FileKind } from '@binhost/shared';
import { profileChost } from './profile-chost.js';

const link = (linkTarget: string) => [FileEntry.fromPartial({ path: 'etc/portage/make.profile', kind: FileKind.FILE_KIND_SYMLINK, linkTarget })];

describe('profileChost', () => {
  let root = '';
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'profile-chost-'));
    const profiles = join(root, 'var/db/repos/gentoo/profiles');
    const put = async (rel: string, text: string) => {
      await mkdir(join(profiles, rel, '..'), { recursive: true });
      await writeFile(join(profiles, rel), text);
    };
    await put('arch/base/make.defaults', 'CHOST="wrong-base-triplet"\n');
    await put('arch/amd64/parent', '../base\n');
    await put('arch/amd64/make.defaults', '# amd64\nCHOST="x86_64-pc-linux-gnu"\nCFLAGS="-O2 -pipe"\n');
    await put('default/linux/parent', '# comment\n../../base\n');
    await put('base/make.defaults', 'USE="x"\n');
    await put('default/linux/amd64/parent', '../../../arch/amd64\n..\n');
    await put('default/linux/amd64/23.0/parent', '..\n');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("reads CHOST from the profile's parents as Portage stacks them", () => {
    expect(profileChost(root, link('../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0'))).toBe('x86_64-pc-linux-gnu');
    // an absolute link means a path inside the target's root
    expect(profileChost(root, link('/var/db/repos/gentoo/profiles/default/linux/amd64/23.0'))).toBe('x86_64-pc-linux-gnu');
  });

  it('says nothing without a profile, or when the profile sets no CHOST', () => {
    expect(profileChost(root, [])).toBeUndefined();
    expect(profileChost(root, link('/var/db/repos/gentoo/profiles/default/linux'))).toBeUndefined();
    expect(profileChost(root, link('/nonexistent'))).toBeUndefined();
  });
});
