import type { EmergeProgress, TransferProgress } from '@binhost/shared';

/** Width of the `[###....]` bar; the text after it is cut to the terminal's width. */
const BAR_WIDTH = 30;

/** One-line transfer progress: `[####.....]  42% 12.3/40.0 MiB  file 3/10 PATH`. */
export function progressLine(p: TransferProgress, width = BAR_WIDTH): string {
  const total = Number(p.bytesTotal);
  const done = Number(p.bytesDone);
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${mib(done)}/${mib(total)} MiB  file ${Math.min(p.filesDone + 1, p.filesTotal)}/${p.filesTotal} ${p.path}`;
}

/** A plain line for a log or a pipe, printed once per finished file: `mirrored 3 of 10 files (12.3 of 40.0 MiB)`. */
export function transferStepLine(p: TransferProgress): string {
  return `mirrored ${p.filesDone} of ${p.filesTotal} files (${mib(Number(p.bytesDone))} of ${mib(Number(p.bytesTotal))} MiB)`;
}

function mib(n: number): string {
  return (n / 1048576).toFixed(1);
}

/** One-line build progress from emerge's output: `[###.....]  2/4 app-misc/hello-1.0 (compile)`. */
export function buildProgressLine(p: EmergeProgress, width = BAR_WIDTH): string {
  const ratio = p.packageCount > 0 ? Math.min(1, (p.packageIndex - 1 + (p.phase === 'package' ? 0.9 : 0.5)) / p.packageCount) : 0;
  const filled = Math.round(Math.max(0, ratio) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.packageIndex}/${p.packageCount} ${p.currentPackage}${p.phase ? ` (${p.phase})` : ''}`;
}

/** The build's step, for a plain line per phase when not on a terminal: `2/4 app-misc/hello-1.0 (compile)`. */
export function buildProgressStep(p: EmergeProgress): string {
  return `${p.packageIndex}/${p.packageCount} ${p.currentPackage}${p.phase ? ` (${p.phase})` : ''}`;
}

/** What LiveLine needs of a stream: a terminal's has `isTTY`, `columns` and a `resize` event. */
type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/**
 * A status line on stderr. On a terminal it is redrawn in place and never wider than the terminal
 * (one column is kept free, so the cursor never wraps): a redraw then erases exactly what the last
 * one drew, and no stale row is left, also after the terminal was narrowed (terminals reflow the
 * old line over more rows; the redraw climbs back over them). Elsewhere (a pipe, a log file)
 * nothing is redrawn: each new `step` is printed once as a plain line. Call `clear()` before
 * writing a normal line and `close()` at the end.
 */
export class LiveLine {
  /** Characters of the line now on the screen (0: none). */
  private shownLength = 0;
  private lastText = '';
  private lastStep: string | undefined;
  private readonly tty: boolean;
  private readonly onResize = () => this.redraw();

  constructor(private readonly stream: Stream) {
    this.tty = Boolean(stream.isTTY);
    if (this.tty) stream.on('resize', this.onResize);
  }

  /** The terminal's width; 80 when it does not say. */
  private columns(): number {
    const c = this.stream.columns;
    return typeof c === 'number' && c > 0 ? c : 80;
  }

  /**
   * Shows `text` (cut to the terminal's width) on a terminal; elsewhere prints `step ?? text` as
   * a line when the step differs from the last one printed (omit `step` to print nothing there).
   */
  draw(text: string, step?: string): void {
    if (!this.tty) {
      if (step !== undefined && step !== this.lastStep) this.stream.write(`${step}\n`);
      this.lastStep = step;
      return;
    }
    this.lastText = text;
    const fitted = fit(text, this.columns() - 1);
    this.stream.write(this.erase() + fitted);
    this.shownLength = fitted.length;
  }

  /** Removes the line, so a normal line can be written. */
  clear(): void {
    if (this.shownLength > 0) this.stream.write(this.erase());
    this.shownLength = 0;
    this.lastText = '';
  }

  /** Clears the line and stops listening for resizes. */
  close(): void {
    this.clear();
    if (this.tty) this.stream.off('resize', this.onResize);
  }

  /** Draws the last text again at the new width. */
  private redraw(): void {
    if (this.shownLength > 0) this.draw(this.lastText);
  }

  /**
   * The escape sequence that erases the shown line: back up over the rows it now takes (more
   * than one when the terminal got narrower and reflowed it), then clear to the end of the screen.
   */
  private erase(): string {
    const rows = this.shownLength > 0 ? Math.ceil(this.shownLength / this.columns()) : 1;
    return (rows > 1 ? `\x1b[${rows - 1}A` : '') + '\r\x1b[J';
  }
}

/** Cuts `text` to `width` characters, ending in `…` when cut. */
function fit(text: string, width: number): string {
  const flat = text.replace(/[\r\n\t]/g, ' ');
  if (flat.length <= width) return flat;
  return width <= 1 ? flat.slice(0, Math.max(0, width)) : `${flat.slice(0, width - 1)}…`;
}
