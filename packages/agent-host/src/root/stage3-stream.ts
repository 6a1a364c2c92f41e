import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ExecError, InvalidArgumentError, startCommand } from '@binhost/shared';

/** Compression of a stage3, told by its first bytes rather than its name. */
export type Stage3Compression = 'none' | 'gzip' | 'xz' | 'bzip2' | 'zstd';

/** The system decompressors (xz, bzip2, zstd are in every Gentoo stage3 and on the host). */
const TOOLS: Record<'xz' | 'bzip2' | 'zstd', string> = { xz: 'xz', bzip2: 'bzip2', zstd: 'zstd' };

/** Reads the magic number of `file`. */
export async function detectCompression(file: string): Promise<Stage3Compression> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const head = buf.subarray(0, bytesRead);
    if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
    if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
    if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
    if (bytesRead === 512 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'none';
    throw new InvalidArgumentError(`${file}: not a tar archive (plain, gzip, xz, bzip2 or zstd)`);
  } finally {
    await fh.close();
  }
}

/** A readable tar stream from a stage3 file, and a promise that rejects if the decompressor fails. */
export interface TarStream {
  stream: Readable;
  /** Resolves when the decompressor exited 0 (at once for plain and gzip). */
  done: Promise<void>;
  /** Stops the decompressor (on a refused entry). */
  stop(): void;
}

/**
 * Opens `file` as a tar stream, piping it through the system decompressor (an argv, no
 * shell) or node's zlib for gzip.
 */
export function openTarStream(file: string, compression: Stage3Compression, signal?: AbortSignal): TarStream {
  if (compression === 'none' || compression === 'gzip') {
    const raw = createReadStream(file);
    const stream = compression === 'gzip' ? raw.pipe(createGunzip()) : raw;
    if (stream !== raw) raw.on('error', (err) => stream.destroy(err));
    return { stream, done: Promise.resolve(), stop: () => raw.destroy() };
  }
  const argv = [TOOLS[compression], '-dc', '--', file];
  const child = startCommand({ file: argv[0]!, args: argv.slice(1), ...(signal ? { signal } : {}), rawStdout: true, tailLines: 5 });
  let stopped = false;
  const done = child.ended.then(({ startError, exitCode, signal: sig, stderrTail }) => {
    if (startError) throw new ExecError(argv, null, null, [], { cause: startError, message: `${argv[0]}: ${startError.message}` });
    // Stopped by us: it dies of our SIGTERM, of SIGPIPE, or says "Broken pipe" writing to the
    // closed pipe. Any other failure (corrupt input) is its own, even after a stop.
    if (exitCode === 0 || (stopped && (sig === 'SIGTERM' || sig === 'SIGPIPE' || stderrTail.some((l) => /broken pipe/i.test(l))))) return;
    throw new ExecError(argv, exitCode, sig, stderrTail);
  });
  return {
    stream: child.stdout!,
    done,
    stop: () => {
      stopped = true;
      child.kill('SIGTERM');
    },
  };
}
