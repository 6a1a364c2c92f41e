import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Files, link targets and modes under the root's config, to prove nothing changed. */
export async function configSnapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string): Promise<void> {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      const st = await lstat(p);
      const key = relative(root, p);
      if (e.isSymbolicLink()) out[key] = `-> ${await readlink(p)}`;
      else if (e.isDirectory()) {
        out[key] = `dir ${st.mode & 0o7777}`;
        await walk(p);
      } else out[key] = `${st.mode & 0o7777} ${await readFile(p, 'utf8')}`;
    }
  }
  await walk(join(root, 'etc'));
  await walk(join(root, 'var/lib/portage'));
  return out;
}
