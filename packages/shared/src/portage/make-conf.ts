import { InvalidArgumentError } from '../errors.js';

/**
 * make.conf as Portage reads it (`portage.util.getconfig`): a sequence of `[export] NAME=value`
 * assignments, values "double-quoted" (with `${VAR}` / `$VAR` expansion and `\"`, `\\`, `\$`
 * escapes), 'single-quoted' (literal, as in bash) or bare words, `\`-newline continuations, `#`
 * comments. References see the values assigned earlier in the file (and `options.vars`, e.g. the
 * profile's). `source` lines are out of scope and rejected, as are `${VAR:-x}` forms and a second
 * word after a value; Portage also rejects those or reads them differently than bash would.
 *
 * Every assignment keeps its text spans, so a rewriter can replace one value and leave every other
 * byte (comments, quoting, order) alone: see {@link replaceMakeConfValue}.
 */

/** make.conf text that cannot be parsed; the message starts with `file:line:`. */
export class MakeConfSyntaxError extends InvalidArgumentError {
  override name = 'MakeConfSyntaxError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
  }
}

/** One `NAME=value` statement. Offsets are UTF-16 indices into {@link MakeConf.text}. */
export interface MakeConfAssignment {
  readonly name: string;
  /** The value after quote removal and expansion. */
  readonly value: string;
  /** The value exactly as written (quotes included). */
  readonly raw: string;
  /** Whether the statement starts with `export`. */
  readonly exported: boolean;
  /** 1-based line of the name. */
  readonly line: number;
  /** Span of the whole statement (from `export`/the name to the end of the value). */
  readonly start: number;
  readonly end: number;
  /** Span of {@link raw}. */
  readonly valueStart: number;
  readonly valueEnd: number;
  /** Names referenced by `${VAR}` / `$VAR` in the value, in order, without duplicates. */
  readonly references: readonly string[];
}

/** A parsed make.conf. */
export interface MakeConf {
  readonly file: string;
  readonly text: string;
  /** Every assignment in file order (a name may appear more than once; the last one wins). */
  readonly assignments: readonly MakeConfAssignment[];
  /** The final value of each name (after all assignments, including `options.vars` not reassigned). */
  readonly values: ReadonlyMap<string, string>;
}

/** Options for {@link parseMakeConf}. */
export interface ParseMakeConfOptions {
  /** Name used in error messages. @default 'make.conf' */
  file?: string;
  /** Values visible to references before the first line (profile make.defaults, ...). @default {} */
  vars?: Readonly<Record<string, string>>;
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Parses make.conf text. Throws {@link MakeConfSyntaxError} naming file:line. */
export function parseMakeConf(text: string, options: ParseMakeConfOptions = {}): MakeConf {
  const file = options.file ?? 'make.conf';
  const values = new Map<string, string>(Object.entries(options.vars ?? {}));
  const assignments: MakeConfAssignment[] = [];
  const s = new Scanner(text, file);
  for (;;) {
    s.skipBlank();
    if (s.done()) break;
    assignments.push(readAssignment(s, values));
  }
  return { file, text, assignments, values };
}

function readAssignment(s: Scanner, values: Map<string, string>): MakeConfAssignment {
  const start = s.pos;
  const line = s.line;
  let name = s.word();
  let exported = false;
  if (name === 'export' && s.peekInlineSpace()) {
    exported = true;
    s.skipInlineSpace();
    name = s.word();
  }
  if (name === 'source' || name === '.') s.fail('"source" is not supported; inline the sourced file');
  if (!name) s.fail(`expected NAME=value, got ${JSON.stringify(s.restOfLine().slice(0, 40))}`);
  s.skipInlineSpace();
  if (s.peek() !== '=') s.fail(`expected "=" after ${name}, got ${JSON.stringify(s.restOfLine().slice(0, 40))}`);
  s.pos++;
  s.skipInlineSpace();
  const valueStart = s.pos;
  const refs: string[] = [];
  const value = readValue(s, values, refs, name);
  const valueEnd = s.pos;
  s.skipInlineSpace();
  if (!s.done() && s.peek() !== '\n' && s.peek() !== '#') {
    s.fail(`unexpected text after the value of ${name}: ${JSON.stringify(s.restOfLine().slice(0, 40))} (quote values with spaces)`);
  }
  values.set(name, value);
  return {
    name, value, exported, line, start, end: valueEnd, valueStart, valueEnd,
    raw: s.text.slice(valueStart, valueEnd),
    references: [...new Set(refs)],
  };
}

function readValue(s: Scanner, values: Map<string, string>, refs: string[], name: string): string {
  let out = '';
  while (!s.done()) {
    const c = s.peek();
    if (c === '"') out += readDouble(s, values, refs, name);
    else if (c === "'") out += readSingle(s, name);
    else if (c === '\\') {
      s.pos++;
      const next = s.take();
      if (next !== '\n') out += next ?? '';
    } else if (c === '$') out += readReference(s, values, refs);
    else if (c === undefined || /\s/.test(c)) break;
    else out += s.take();
  }
  return out;
}

function readDouble(s: Scanner, values: Map<string, string>, refs: string[], name: string): string {
  const openLine = s.line;
  s.pos++;
  let out = '';
  for (;;) {
    if (s.done()) s.fail(`unterminated double quote in the value of ${name}`, openLine);
    const c = s.peek();
    if (c === '"') {
      s.pos++;
      return out;
    }
    if (c === '\\') {
      s.pos++;
      const next = s.take();
      if (next === '\n') continue;
      out += next !== undefined && '"\\$`'.includes(next) ? next : `\\${next ?? ''}`;
    } else if (c === '$') out += readReference(s, values, refs);
    else out += s.take();
  }
}

function readSingle(s: Scanner, name: string): string {
  const openLine = s.line;
  const end = s.text.indexOf("'", s.pos + 1);
  if (end < 0) s.fail(`unterminated single quote in the value of ${name}`, openLine);
  const out = s.text.slice(s.pos + 1, end);
  s.advanceTo(end + 1);
  return out;
}

function readReference(s: Scanner, values: Map<string, string>, refs: string[]): string {
  s.pos++;
  let ref: string | undefined;
  if (s.peek() === '{') {
    const close = s.text.indexOf('}', s.pos);
    const inner = close < 0 ? '' : s.text.slice(s.pos + 1, close);
    if (close < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(inner)) {
      s.fail(`unsupported parameter expansion \${${inner.slice(0, 30)}} (only \${NAME} and $NAME)`);
    }
    ref = inner;
    s.advanceTo(close + 1);
  } else {
    NAME.lastIndex = s.pos;
    const m = NAME.exec(s.text);
    if (!m) return '$';
    ref = m[0];
    s.pos += ref.length;
  }
  refs.push(ref);
  return values.get(ref) ?? '';
}

class Scanner {
  pos = 0;
  line = 1;
  constructor(
    readonly text: string,
    readonly file: string,
  ) {}
  done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string | undefined {
    return this.text[this.pos];
  }
  take(): string | undefined {
    const c = this.text[this.pos++];
    if (c === '\n') this.line++;
    return c;
  }
  advanceTo(pos: number): void {
    while (this.pos < pos) this.take();
  }
  fail(detail: string, line = this.line): never {
    throw new MakeConfSyntaxError(this.file, line, detail);
  }
  word(): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.text);
    if (!m) return '';
    this.pos += m[0].length;
    return m[0];
  }
  peekInlineSpace(): boolean {
    // \r too: a make.conf saved with CRLF line endings reads like the LF one
    return this.peek() === ' ' || this.peek() === '\t' || this.peek() === '\r';
  }
  skipInlineSpace(): void {
    while (this.peekInlineSpace() || (this.peek() === '\\' && this.text[this.pos + 1] === '\n')) this.take();
  }
  restOfLine(): string {
    const nl = this.text.indexOf('\n', this.pos);
    return this.text.slice(this.pos, nl < 0 ? undefined : nl);
  }
  /** Skips whitespace, newlines and comments between statements. */
  skipBlank(): void {
    while (!this.done()) {
      const c = this.peek();
      if (c === '#') this.advanceTo(this.text.indexOf('\n', this.pos) < 0 ? this.text.length : this.text.indexOf('\n', this.pos));
      else if (c !== undefined && /\s/.test(c)) this.take();
      else if (c === '\\' && this.text[this.pos + 1] === '\n') this.advanceTo(this.pos + 2);
      else return;
    }
  }
}

/** `value` as a double-quoted make.conf value (`"`, `\`, `$` and backquote escaped). */
export function quoteMakeConfValue(value: string): string {
  return `"${value.replace(/["\\$`]/g, (c) => `\\${c}`)}"`;
}

/** The last (effective) assignment of `name`, if any. */
export function lastAssignment(conf: MakeConf, name: string): MakeConfAssignment | undefined {
  return conf.assignments.findLast((a) => a.name === name);
}

/** A replacement of one assignment's raw value text (`raw` is written as-is: quote it yourself). */
export interface MakeConfEdit {
  readonly assignment: MakeConfAssignment;
  readonly raw: string;
}

/** Applies edits to the text; every byte outside the edited value spans is kept. */
export function applyMakeConfEdits(conf: MakeConf, edits: readonly MakeConfEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.assignment.valueStart - a.assignment.valueStart);
  let text = conf.text;
  for (const e of sorted) text = text.slice(0, e.assignment.valueStart) + e.raw + text.slice(e.assignment.valueEnd);
  return text;
}

/**
 * Sets `name` to `value`: replaces the value of its last assignment (quoted with
 * {@link quoteMakeConfValue}), or appends `NAME="value"` when the name is not assigned.
 */
export function replaceMakeConfValue(conf: MakeConf, name: string, value: string): string {
  const a = lastAssignment(conf, name);
  if (a) return applyMakeConfEdits(conf, [{ assignment: a, raw: quoteMakeConfValue(value) }]);
  const sep = conf.text === '' || conf.text.endsWith('\n') ? '' : '\n';
  return `${conf.text}${sep}${name}=${quoteMakeConfValue(value)}\n`;
}

/** Writes a fresh make.conf: optional `#` comment lines, then one `NAME="value"` line per entry. */
export function serializeMakeConf(entries: ReadonlyArray<readonly [name: string, value: string]>, comment?: string): string {
  const head = comment ? comment.split('\n').map((l) => `# ${l}`.trimEnd() + '\n').join('') : '';
  for (const [name] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new InvalidArgumentError(`make.conf: invalid variable name ${JSON.stringify(name)}`);
  }
  return head + entries.map(([n, v]) => `${n}=${quoteMakeConfValue(v)}\n`).join('');
}
