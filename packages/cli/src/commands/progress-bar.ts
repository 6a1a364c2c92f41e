import type { EmergeProgress, TransferProgress } from '@binhost/shared';

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

/** One-line build progress from emerge's output: `[###.....]  2/4 app-misc/hello-1.0 (compile)`. */
export function buildProgressLine(p: EmergeProgress, width = 30): string {
  const ratio = p.packageCount > 0 ? Math.min(1, (p.packageIndex - 1 + (p.phase === 'package' ? 0.9 : 0.5)) / p.packageCount) : 0;
  const filled = Math.round(Math.max(0, ratio) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.packageIndex}/${p.packageCount} ${p.currentPackage}${p.phase ? ` (${p.phase})` : ''}`;
}

/**
 * A status line redrawn in place on a terminal's stderr; a no-op elsewhere, so piped output and
 * logs stay clean. `clear()` before writing a normal line.
 */
export class LiveLine {
  private shown = false;
  private readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WritableStream) {
    this.tty = Boolean((stream as NodeJS.WriteStream).isTTY);
  }

  draw(text: string): void {
    if (!this.tty) return;
    this.stream.write('\r\x1b[K' + text.slice(0, 200));
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
