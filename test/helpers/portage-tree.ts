import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TEST_PROFILE } from './emerge-stand-in.js';

/** Writes a small but realistic target config tree (etc/portage, world, world_sets) under `root`. */
export async function makePortageTree(root: string, makeConf = 'COMMON_FLAGS="-O2 -pipe -march=native"\nCFLAGS="${COMMON_FLAGS}"\n'): Promise<void> {
  const put = async (rel: string, text: string) => {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), text);
  };
  await put('etc/portage/make.conf', makeConf);
  await put('etc/portage/package.use/hello', 'app-misc/hello loud\n');
  await put('etc/portage/package.accept_keywords/greet', 'app-misc/greet ~amd64\n');
  await put('etc/portage/repos.conf/gentoo.conf', '[gentoo]\nlocation = /var/db/repos/gentoo\n');
  await put('var/lib/portage/world', 'app-misc/hello\napp-misc/greet\n');
  await put('var/lib/portage/world_sets', '');
  await symlink('../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0', join(root, 'etc/portage/make.profile'));
}

/** Saves `text` to `root/rel` the way editors do: write a temp file next to it, then rename it over. */
export async function editorSave(root: string, rel: string, text: string): Promise<void> {
  const file = join(root, rel);
  await mkdir(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${rel.split('/').pop()}.${process.pid}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/**
 * A target's own system for the build harness: -march=native flags, app-misc/hello in world and
 * the harness profile, the same on every machine made with it (so such targets share a root).
 */
export async function makeHarnessTarget(root: string): Promise<void> {
  await mkdir(join(root, 'etc/portage'), { recursive: true });
  await mkdir(join(root, 'var/lib/portage'), { recursive: true });
  await writeFile(join(root, 'etc/portage/make.conf'), 'COMMON_FLAGS="-march=native -O2"\nCFLAGS="${COMMON_FLAGS}"\n');
  await writeFile(join(root, 'var/lib/portage/world'), 'app-misc/hello\n');
  await symlink(TEST_PROFILE, join(root, 'etc/portage/make.profile'));
}
