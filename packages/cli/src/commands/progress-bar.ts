import type { TransferProgress } from '@binhost/shared';

/**
 * One-line transfer progress for a terminal (`\r`-redrawn). Only used when stderr is a TTY;
 * otherwise the caller prints a line per finished file instead.
 */
export function progressLine(p: TransferProgress, width = 30): string {
  const total = Number(p.bytesTotal);
  const done = Number(p.bytesDone);
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${mib(done)}/${mib(total)} MiB  file ${Math.min(p.filesDone + 1, p.filesTotal)}/${p.filesTotal} ${p.path}`;
}

function mib(n: number): string {
  return (n / 1048576).toFixed(1);
}
