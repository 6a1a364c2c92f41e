import { ConfigError } from '../errors.js';

type Table = Record<string, unknown>;

/**
 * Reads one TOML table with types checked and every key accounted for. Each getter records the
 * key as known; {@link ConfigReader.finish} then rejects whatever the file has that no getter
 * asked for, naming the key path (`tls.cert: expected string, got integer`).
 */
export class ConfigReader {
  private readonly seen = new Set<string>();

  constructor(
    readonly file: string,
    private readonly table: Table,
    private readonly prefix = '',
  ) {}

  private path(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }

  private fail(key: string, detail: string): never {
    throw new ConfigError(this.file, this.path(key), detail);
  }

  private get(key: string): unknown {
    this.seen.add(key);
    return this.table[key];
  }

  /** A string, or `fallback` when absent. */
  string(key: string, fallback: string): string;
  string(key: string): string | undefined;
  string(key: string, fallback?: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') this.fail(key, `expected string, got ${describe(v)}`);
    if (v === '') this.fail(key, 'expected a non-empty string');
    return v;
  }

  /** A string that must be present. */
  requiredString(key: string): string {
    const v = this.string(key);
    if (v === undefined) {
      // `hots = ...` for `host`: the misspelt key is what to fix, so it is named first
      const typo = this.keys().find((k) => !this.seen.has(k) && isTypoOf(k, key));
      if (typo !== undefined) this.fail(typo, `unknown key (did you mean "${key}"? ${this.path(key)} is required)`);
      this.fail(key, 'missing (required)');
    }
    return v;
  }

  /** An integer within [min, max], or `fallback` when absent. */
  integer(key: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(key);
    if (v === undefined) return fallback;
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) this.fail(key, `expected integer, got ${describe(v)}`);
    if (n < min || n > max) this.fail(key, `expected an integer from ${min} to ${max}, got ${n}`);
    return n;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, `expected boolean (true or false), got ${describe(v)}`);
    return v;
  }

  /** One of `choices`, or `fallback` when absent. */
  choice<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const v = this.string(key);
    if (v === undefined) return fallback;
    if (!(choices as readonly string[]).includes(v)) this.fail(key, `expected one of ${choices.join(', ')}, got "${v}"`);
    return v as T;
  }

  /** An array of non-empty strings, or `fallback` when absent. */
  stringArray(key: string, fallback: readonly string[]): readonly string[] {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (!Array.isArray(v)) this.fail(key, `expected array of strings, got ${describe(v)}`);
    v.forEach((item, i) => {
      if (typeof item !== 'string' || item === '') this.fail(`${key}[${i}]`, `expected non-empty string, got ${describe(item)}`);
    });
    return v as string[];
  }

  /** A command (program and leading arguments), or `fallback` when absent: an empty array is refused. */
  command(key: string, fallback: readonly string[]): readonly string[] {
    const v = this.stringArray(key, fallback);
    if (v.length === 0) this.fail(key, 'expected a program and its arguments, got an empty array');
    return v;
  }

  /** A sub-table as its own reader (an empty one when absent). Call its finish() too. */
  section(key: string): ConfigReader {
    const v = this.get(key);
    if (v !== undefined && !isTable(v)) this.fail(key, `expected a table ([${this.path(key)}]), got ${describe(v)}`);
    return new ConfigReader(this.file, (v as Table | undefined) ?? {}, this.path(key));
  }

  /** Whether the table has `key` (does not count as reading it). */
  has(key: string): boolean {
    return this.table[key] !== undefined;
  }

  /** The keys of the table (a table of named sub-tables, like `[distcc.roots.NAME]`). */
  keys(): string[] {
    return Object.keys(this.table);
  }

  /** `key` with this table's prefix, as messages spell it (`distcc.roots.alpha.hosts`). */
  prefixPath(key: string): string {
    return this.path(key);
  }

  /** A boolean, or undefined when absent. */
  optionalBoolean(key: string): boolean | undefined {
    return this.has(key) ? this.boolean(key, false) : (this.get(key), undefined);
  }

  /** Rejects keys that no getter asked for. */
  finish(): void {
    for (const key of Object.keys(this.table)) {
      if (!this.seen.has(key)) this.fail(key, 'unknown key');
    }
  }
}

/** Whether `a` is `b` with one letter changed, added, dropped, or two neighbours swapped. */
function isTypoOf(a: string, b: string): boolean {
  if (a === b || Math.abs(a.length - b.length) > 1) return false;
  const lower = (s: string) => s.toLowerCase().replace(/-/g, '_');
  const [x, y] = [lower(a), lower(b)];
  if (x === y) return true;
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  if (x.length === y.length) return x.slice(i + 1) === y.slice(i + 1) || (x[i] === y[i + 1] && x[i + 1] === y[i] && x.slice(i + 2) === y.slice(i + 2));
  return x.length > y.length ? x.slice(i + 1) === y.slice(i) : x.slice(i) === y.slice(i + 1);
}

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'date';
  if (typeof v === 'number' || typeof v === 'bigint') return Number.isInteger(Number(v)) ? 'integer' : 'float';
  if (isTable(v)) return 'table';
  return typeof v;
}
