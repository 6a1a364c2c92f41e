import { access, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { AgentError, errnoCode, errorMessage, type Logger } from '@binhost/shared';

/**
 * A file of the host's state dir that cannot be read or does not hold what it should (truncated,
 * corrupt, edited by hand). It names the file, what is wrong and what to do; it fails only what
 * needs that file (one target, or the targets of one root), never the host.
 */
export class DamagedRecordError extends AgentError {
  override name = 'DamagedRecordError';
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly remedy: string,
    options?: ErrorOptions,
  ) {
    // DATA_LOSS: "unrecoverable data loss or corruption" (https://grpc.io/docs/guides/status-codes/)
    super(`${file}: ${problem}; ${remedy}`, status.DATA_LOSS, options);
  }
}

/** What a damaged file belongs to: one target's record dir, or a root's `.meta` dir. */
export type DamageScope = { target: string } | { root: string };

/** Errors that say nothing about the file itself (the host is short of something): never "damaged". */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'EAGAIN', 'EINTR']);

/**
 * Reads and checks one record file. Absent: undefined. Unreadable, or refused by `parse` (which
 * throws on anything it does not accept): a {@link DamagedRecordError} with `remedy`.
 */
export async function readRecord<T>(file: string, parse: (bytes: Buffer) => T, remedy: string): Promise<T | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return unreadable(file, err, remedy);
  }
  return parsed(file, bytes, parse, remedy);
}

/** {@link readRecord} for synchronous callers (status summaries). */
export function readRecordSync<T>(file: string, parse: (bytes: Buffer) => T, remedy: string): T | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    return unreadable(file, err, remedy);
  }
  return parsed(file, bytes, parse, remedy);
}

function unreadable(file: string, err: unknown, remedy: string): undefined {
  const code = errnoCode(err);
  if (code === 'ENOENT') return undefined;
  if (code !== undefined && TRANSIENT.has(code)) throw err;
  throw new DamagedRecordError(file, `cannot be read (${code ?? errorMessage(err)})`, remedy, { cause: err });
}

function parsed<T>(file: string, bytes: Buffer, parse: (bytes: Buffer) => T, remedy: string): T {
  if (bytes.length === 0) throw new DamagedRecordError(file, 'is empty (truncated)', remedy);
  try {
    return parse(bytes);
  } catch (err) {
    throw new DamagedRecordError(file, errorMessage(err), remedy, { cause: err });
  }
}

/** Parses JSON text; a syntax error says so (a truncated file ends mid-value). */
export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    throw new Error(`is not valid JSON (${errorMessage(err)})`, { cause: err });
  }
}

/** Parses JSON text that must be an object (a record), not null, an array or a scalar. */
export function parseJsonObject(bytes: Buffer): Record<string, unknown> {
  const value = parseJson(bytes);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('does not hold a JSON object');
  return value as Record<string, unknown>;
}

/**
 * Which files of the state dir were found damaged, and whose they are: shown by `binhostctl
 * status` and `targets` for the targets concerned. Each is logged once, with the file. A mark goes
 * when the host writes that file anew (a new report, a publish, an apply), when the file is gone
 * (the operator removed it; see {@link recheck}), or with its target or root.
 */
export class DamagedRecords {
  private readonly marks = new Map<string, { scope: DamageScope; error: DamagedRecordError }>();

  constructor(private readonly log: Logger) {}

  /** Records `error` for `scope` and logs it (once per file). */
  mark(scope: DamageScope, error: DamagedRecordError): void {
    const known = this.marks.get(error.file);
    this.marks.set(error.file, { scope, error });
    if (known?.error.message === error.message) return;
    this.log.error({ ...scope, file: error.file, problem: error.problem, remedy: error.remedy }, 'damaged record');
  }

  /** Runs `read`; a {@link DamagedRecordError} it throws is marked for `scope` and rethrown. */
  async guard<T>(scope: DamageScope, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (err instanceof DamagedRecordError) this.mark(scope, err);
      throw err;
    }
  }

  /** Whether `file` is marked damaged. */
  has(file: string): boolean {
    return this.marks.has(file);
  }

  /** `file` was written anew (or found good): no longer damaged. */
  clear(file: string): void {
    if (this.marks.delete(file)) this.log.info({ file }, 'damaged record replaced');
  }

  /** Drops the marks of files that no longer exist (removed by the operator). */
  async recheck(): Promise<void> {
    for (const file of [...this.marks.keys()]) {
      try {
        await access(file);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') this.clear(file);
      }
    }
  }

  /** The damage that concerns `target`: its own files and those of the roots it uses. */
  forTarget(target: string, roots: Iterable<string | undefined>): DamagedRecordError[] {
    const used = new Set(roots);
    return [...this.marks.values()]
      .filter(({ scope }) => ('target' in scope ? scope.target === target : used.has(scope.root)))
      .map(({ error }) => error)
      .sort((a, b) => a.file.localeCompare(b.file));
  }

  /** Drops every mark of `target` (`target remove`). */
  forgetTarget(target: string): void {
    for (const [file, { scope }] of this.marks) if ('target' in scope && scope.target === target) this.marks.delete(file);
  }

  /** Drops every mark of `root` (`target remove --purge`). */
  forgetRoot(root: string): void {
    for (const [file, { scope }] of this.marks) if ('root' in scope && scope.root === root) this.marks.delete(file);
  }
}
