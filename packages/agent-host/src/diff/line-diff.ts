/**
 * A unified line diff (the `diff -u` format) for config files, using Myers' O(ND) algorithm on
 * what is left after the common head and tail are cut off. Written here rather than taken from a
 * library because the agent needs only this one function and its output must be stable.
 */

/** One line of an edit script: kept (' '), removed ('-') or added ('+'). */
interface Op {
  type: ' ' | '-' | '+';
  line: string;
}

/** Marks a last line without a trailing newline, so "x" and "x\n" differ. */
const NO_EOL = '\u0000no-eol';

/** Options for {@link unifiedDiff}. */
export interface UnifiedDiffOptions {
  /** Lines of context around each change. @default 3 */
  context?: number;
  /** Give up (returning a one-line note) beyond this many changed lines. @default 4000 */
  maxEdits?: number;
}

/**
 * The unified diff of two texts with `--- a/PATH` / `+++ b/PATH` headers, or '' when they are
 * equal. Beyond `maxEdits` changed lines it returns a one-line summary instead.
 */
export function unifiedDiff(path: string, before: string, after: string, options: UnifiedDiffOptions = {}): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = editScript(a, b, options.maxEdits ?? 4000);
  if (!ops) return `(${a.length} → ${b.length} lines; too many changes to show a diff)\n`;
  return `--- a/${path}\n+++ b/${path}\n${hunks(ops, options.context ?? 3)}`;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += NO_EOL;
  return lines;
}

/** The shortest edit script from a to b, or undefined when it needs more than maxEdits edits. */
function editScript(a: string[], b: string[], maxEdits: number): Op[] | undefined {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const middle = myers(a.slice(head, a.length - tail), b.slice(head, b.length - tail), maxEdits);
  if (!middle) return undefined;
  const keep = (lines: string[]): Op[] => lines.map((line) => ({ type: ' ', line }));
  return [...keep(a.slice(0, head)), ...middle, ...keep(a.slice(a.length - tail))];
}

/**
 * Myers' greedy algorithm. `trace[d][k + d]` is the furthest x reached on diagonal k with d edits;
 * the path is recovered by walking the trace backwards. Memory is O(D²).
 */
function myers(a: string[], b: string[], maxEdits: number): Op[] | undefined {
  const n = a.length;
  const m = b.length;
  const trace: number[][] = [];
  for (let d = 0; d <= Math.min(n + m, maxEdits); d++) {
    const prev = trace[d - 1] ?? [];
    const cur = new Array<number>(2 * d + 1);
    for (let k = -d; k <= d; k += 2) {
      let x = d === 0 ? 0 : fromAbove(prev, d, k) ? prev[k + 1 + d - 1]! : prev[k - 1 + d - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      cur[k + d] = x;
      if (x >= n && y >= m) {
        trace.push(cur);
        return backtrack(trace, a, b);
      }
    }
    trace.push(cur);
  }
  return undefined;
}

/** Whether step d on diagonal k comes from diagonal k+1 (an insertion) rather than k-1. */
function fromAbove(prev: number[], d: number, k: number): boolean {
  return k === -d || (k !== d && prev[k - 1 + d - 1]! < prev[k + 1 + d - 1]!);
}

function backtrack(trace: number[][], a: string[], b: string[]): Op[] {
  const ops: Op[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d > 0; d--) {
    const k = x - y;
    const prev = trace[d - 1]!;
    const down = fromAbove(prev, d, k);
    const prevK = down ? k + 1 : k - 1;
    const prevX = prev[prevK + d - 1]!;
    const prevY = prevX - prevK;
    const startX = down ? prevX : prevX + 1;
    while (x > startX) ops.push({ type: ' ', line: a[--x]! }), y--;
    ops.push(down ? { type: '+', line: b[prevY]! } : { type: '-', line: a[prevX]! });
    x = prevX;
    y = prevY;
  }
  while (x > 0) ops.push({ type: ' ', line: a[--x]! });
  return ops.reverse();
}

/** Groups an edit script into `@@ -l,s +l,s @@` hunks with `context` lines around changes. */
function hunks(ops: Op[], context: number): string {
  const changes = ops.flatMap((op, i) => (op.type === ' ' ? [] : [i]));
  // Before each op: how many lines of a and of b came before it.
  const aBefore: number[] = [];
  const bBefore: number[] = [];
  let ai = 0;
  let bi = 0;
  for (const op of ops) {
    aBefore.push(ai);
    bBefore.push(bi);
    if (op.type !== '+') ai++;
    if (op.type !== '-') bi++;
  }
  aBefore.push(ai);
  bBefore.push(bi);
  let out = '';
  let g = 0;
  while (g < changes.length) {
    let last = g;
    while (last + 1 < changes.length && changes[last + 1]! - changes[last]! <= 2 * context + 1) last++;
    const start = Math.max(0, changes[g]! - context);
    const end = Math.min(ops.length, changes[last]! + context + 1);
    const aCount = aBefore[end]! - aBefore[start]!;
    const bCount = bBefore[end]! - bBefore[start]!;
    out += `@@ -${range(aBefore[start]!, aCount)} +${range(bBefore[start]!, bCount)} @@\n`;
    for (const op of ops.slice(start, end)) {
      const noEol = op.line.endsWith(NO_EOL);
      out += `${op.type}${noEol ? op.line.slice(0, -NO_EOL.length) : op.line}\n`;
      if (noEol) out += '\\ No newline at end of file\n';
    }
    g = last + 1;
  }
  return out;
}

/** GNU diff's range: "start,count", with start the line before when count is 0. */
function range(before: number, count: number): string {
  const start = count === 0 ? before : before + 1;
  return count === 1 ? `${start}` : `${start},${count}`;
}
