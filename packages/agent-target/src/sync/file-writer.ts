import { open } from 'node:fs/promises';

/** The few file operations a download needs; tests swap it to inject ENOSPC. */
export interface FileWriter {
  write(data: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Opens `path` for appending (created if missing). */
export type OpenWriter = (path: string) => Promise<FileWriter>;

/** The real thing: node:fs appends, looping until each buffer is written whole. */
export const openAppendWriter: OpenWriter = async (path) => {
  const handle = await open(path, 'a', 0o644);
  return {
    async write(data) {
      let done = 0;
      while (done < data.length) done += (await handle.write(data, done, data.length - done)).bytesWritten;
    },
    sync: () => handle.sync(),
    close: () => handle.close(),
  };
};
