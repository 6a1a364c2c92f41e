import { randomBytes } from 'node:crypto';
import { open, rename, rm, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/** Options for {@link atomicWrite}. */
export interface AtomicWriteOptions {
  /** Permission bits of the new file. @default 0o644 */
  mode?: number;
  /** Create the parent directory first. @default false */
  mkdirs?: boolean;
}

/**
 * Writes `data` to `path` so that readers see the old file or the new one, never half of it:
 * a temp file beside it, fsync, then rename. On failure the temp file is removed and `path` is
 * untouched.
 */
export async function atomicWrite(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  if (options.mkdirs) await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', options.mode ?? 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}
