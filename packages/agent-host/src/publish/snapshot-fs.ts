import { link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';

/**
 * The file operations publishing uses, as one object so tests can make one of them fail like a
 * full disk would (ENOSPC) and check that nothing half-made is left behind.
 */
export interface SnapshotFs {
  link(existing: string, path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** Writes and fsyncs a new file. */
  writeFileSynced(path: string, data: string | Uint8Array): Promise<void>;
  /** fsyncs a directory, so a rename inside it is durable. */
  syncDir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  rmTree(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  size(path: string): Promise<number>;
}

/** The real file system. */
export const nodeSnapshotFs: SnapshotFs = {
  link: (a, b) => link(a, b),
  mkdir: async (p) => {
    await mkdir(p, { recursive: true });
  },
  async writeFileSynced(path, data) {
    const handle = await open(path, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  async syncDir(path) {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (a, b) => rename(a, b),
  rmTree: (p) => rm(p, { recursive: true, force: true }),
  readdir: (p) => readdir(p),
  size: async (p) => (await stat(p)).size,
};
