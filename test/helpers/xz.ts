import { spawnSync } from 'node:child_process';

/** Compresses with the system `xz`, as stage3s are shipped. */
export function xzSync(data: Uint8Array): Buffer {
  const r = spawnSync('xz', ['-c', '-T1'], { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`xz failed: ${r.stderr.toString()}`);
  return r.stdout;
}
