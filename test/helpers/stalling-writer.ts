import { openAppendWriter, type OpenWriter } from '@binhost/agent-target';

/** A mirror writer that holds the transfer once `after` bytes are written, until released. */
export interface StallingWriter {
  open: OpenWriter;
  /** True once the transfer is being held. */
  stalled(): boolean;
  /** Lets the held write, and every later one, through. */
  release(): void;
}

/** Real appends (node:fs) that stop at the first write past `after` bytes, for faults mid-transfer. */
export function stallingWriter(after: number): StallingWriter {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let written = 0;
  let stalled = false;
  return {
    open: async (path) => {
      const w = await openAppendWriter(path);
      // no writev: every byte goes through write, where the stall is
      return {
        sync: () => w.sync(),
        close: () => w.close(),
        async write(data) {
          if (written >= after && !stalled) {
            stalled = true;
            await gate;
          }
          await w.write(data);
          written += data.length;
        },
      };
    },
    stalled: () => stalled,
    release: () => release(),
  };
}
