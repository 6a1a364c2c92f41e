import { InvalidArgumentError } from '../errors.js';

/**
 * make.conf as Portage reads it (`portage.util.getconfig`: shlex, then varexpand), the one reader
 * of the project: the host rewrites a target's make.conf statement by statement (lossless, with
 * source offsets), the target reads CC and CHOST from its own (expanded values). Checked against
 * real Portage in packages/agent-host/src/root/make-conf-portage.test.ts.
 */

/** make.conf text that Portage could not read; the message starts with `file:line:`. */
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

/**
 * One `KEY=value` statement of a make.conf-syntax file (Portage's getconfig: shell-like words,
 * `"..."` with `${VAR}` expansion, `'...'` literal, backslash escapes and line continuations,
 * `#` comments at the start of a word, an optional `export`).
 */
export interface Assignment {
  kind: 'assign';
  key: string;
  exported: boolean;
  /**
   * The value split into whitespace-separated words, each spelled as it would be inside double
   * quotes (so `${VAR}` references stay references and single-quoted text is escaped).
   */
  words: string[];
  /** Offsets of the whole statement in the source text, `end` exclusive. */
  start: number;
  end: number;
  /** 1-based line of the statement's first character. */
  line: number;
}

/** A `source FILE` statement: Portage reads FILE (a path on the machine doing the build). */
export interface SourceStatement {
  kind: 'source';
  path: string;
  start: number;
  end: number;
  line: number;
}

export type Statement = Assignment | SourceStatement;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * Characters that need a backslash inside double quotes for Portage's reader (getconfig: shlex,
 * then varexpand) to read them literally. Not the backtick: Portage keeps a backslash before it.
 */
const DQ_SPECIAL = /["\\$]/g;

/** Escapes a literal value for a double-quoted make.conf word: Portage reads back exactly `text`. */
export function escapeForDoubleQuotes(text: string): string {
  return text.replace(DQ_SPECIAL, (c) => `\\${c}`);
}

/**
 * Spells text that shlex passes on unchanged (single-quoted, or one backslash-escaped character
 * outside quotes) for a double-quoted word. Portage expands `$` even there (its varexpand runs
 * after shlex), so only what shlex itself would treat inside double quotes is escaped.
 */
function shlexLiteralForDoubleQuotes(text: string): string {
  return text.replace(/["\\]/g, (c) => `\\${c}`);
}

/** Names referenced by `${NAME}` or `$NAME` in a double-quote-context word (not `\$`). */
export function referencedNames(word: string): string[] {
  const names: string[] = [];
  const re = /(?<!\\)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:[:][^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))/g;
  for (const m of word.matchAll(re)) names.push((m[1] ?? m[2])!);
  return names;
}

/**
 * Splits a make.conf-syntax text into statements, keeping the source offsets so a rewriter can
 * replace one statement and leave every other byte (comments, layout) as it was.
 * Throws {@link MakeConfSyntaxError} naming `file` and the line for what Portage would reject.
 */
export function tokenizeMakeConf(text: string, file: string): Statement[] {
  const out: Statement[] = [];
  let i = 0;
  const lineAt = (pos: number): number => {
    let n = 1;
    for (let k = 0; k < pos && k < text.length; k++) if (text.charCodeAt(k) === 10) n++;
    return n;
  };
  const fail = (pos: number, detail: string): never => {
    throw new MakeConfSyntaxError(file, lineAt(pos), detail);
  };
  const skipBlank = (): void => {
    for (;;) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
      else if (c === '\\' && text[i + 1] === '\n') i += 2;
      else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
      else return;
    }
  };
  const readBare = (): string => {
    const s = i;
    while (i < text.length && !/[\s=#"'\\]/.test(text[i]!)) i++;
    return text.slice(s, i);
  };
  for (;;) {
    skipBlank();
    if (i >= text.length) return out;
    const start = i;
    let word = readBare();
    let exported = false;
    if (word === 'export' && /[ \t]/.test(text[i] ?? '')) {
      exported = true;
      while (text[i] === ' ' || text[i] === '\t') i++;
      word = readBare();
    }
    if (word === 'source' && /[ \t]/.test(text[i] ?? '')) {
      while (text[i] === ' ' || text[i] === '\t') i++;
      const v = readValue(text, i, fail);
      i = v.end;
      out.push({ kind: 'source', path: v.words.join(' '), start, end: i, line: lineAt(start) });
      continue;
    }
    if (!IDENT.test(word) || text[i] !== '=') {
      fail(start, `expected KEY=value, found ${JSON.stringify(text.slice(start, start + 40).split('\n')[0])}`);
    }
    i++;
    const v = readValue(text, i, fail);
    i = v.end;
    out.push({ kind: 'assign', key: word, exported, words: v.words, start, end: i, line: lineAt(start) });
  }
}

/** Reads one value from `pos` to the first unquoted blank; returns its words and end offset. */
function readValue(text: string, pos: number, fail: (pos: number, detail: string) => never): { words: string[]; end: number } {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  const flush = (): void => {
    if (inWord) words.push(cur);
    cur = '';
    inWord = false;
  };
  let i = pos;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') break;
    if (c === '\\') {
      if (text[i + 1] === '\n') {
        i += 2;
        continue;
      }
      if (i + 1 >= text.length) fail(i, 'backslash at end of file');
      cur += shlexLiteralForDoubleQuotes(text[i + 1]!);
      inWord = true;
      i += 2;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) fail(i, 'unterminated single quote');
      for (const part of text.slice(i + 1, close).split(/([ \t\r\n]+)/)) {
        if (/^[ \t\r\n]+$/.test(part)) flush();
        else if (part !== '') {
          cur += shlexLiteralForDoubleQuotes(part);
          inWord = true;
        }
      }
      i = close + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= text.length) fail(pos, 'unterminated double quote');
        const d = text[i]!;
        if (d === '"') break;
        if (d === '\\') {
          if (text[i + 1] === '\n') i += 2;
          else {
            cur += text.slice(i, i + 2);
            inWord = true;
            i += 2;
          }
        } else if (d === ' ' || d === '\t' || d === '\n' || d === '\r') {
          flush();
          i++;
        } else {
          cur += d;
          inWord = true;
          i++;
        }
      }
      i++;
    } else {
      cur += c === '`' ? '\\`' : c;
      inWord = true;
      i++;
    }
  }
  flush();
  return { words, end: i };
}

/**
 * The value of a double-quote-context word (as {@link tokenizeMakeConf} spells words), the way
 * Portage's varexpand reads it: `${NAME}` and `$NAME` from `vars` (unknown ones are empty), `\$`,
 * `\\` and `\"` unescaped, any other backslash kept.
 */
function expandWord(word: string, vars: ReadonlyMap<string, string>): string {
  return word.replace(/\\([$\\"])|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_all, esc?: string, a?: string, b?: string) =>
    esc !== undefined ? esc : (vars.get((a ?? b)!) ?? ''),
  );
}

/**
 * The variables a make.conf text assigns, expanded in order as Portage does (later assignments
 * win, references see earlier values and `vars`). Whitespace inside a value becomes one space.
 * `source` statements are not followed. Throws {@link MakeConfSyntaxError} for what Portage would
 * reject. Adds to and returns `vars`.
 */
export function makeConfValues(text: string, file: string, vars: Map<string, string> = new Map()): Map<string, string> {
  for (const s of tokenizeMakeConf(text, file)) {
    if (s.kind === 'assign') vars.set(s.key, s.words.map((w) => expandWord(w, vars)).join(' '));
  }
  return vars;
}
