import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** @default 'info' */
  level?: string;
  /** Where JSON lines go. @default stdout */
  destination?: DestinationStream;
  /** Fields on every line (`{ agent: 'host' }`). */
  base?: Record<string, unknown>;
}

/**
 * Keeps one key per field in a child's bindings. pino appends a child's bindings to its parent's
 * as text, so `log.child({ component: 'delivery' }).child({ component: 'mirror' })` would write
 * `component` twice in every line (JSON readers then disagree on which one counts). Re-read as
 * JSON, a repeated key keeps its first position and its last (the innermost) value.
 */
function dedupeBindings(child: Logger): void {
  const sym = pino.symbols.chindingsSym as unknown as keyof Logger;
  const text = child[sym] as unknown as string;
  if (!text) return;
  const merged = JSON.parse(`{${text.slice(1)}}`) as Record<string, unknown>;
  const out = Object.entries(merged).map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('');
  if (out.length !== text.length) (child as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] = out;
}

/**
 * A field given at a log call that a binding already has (`log.child({ snapshotId }).info({
 * snapshotId }, …)`) is written once: dropped when equal, else the call's value wins (through a
 * short-lived child, which replaces the binding for that line).
 */
function logOnce(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void): void {
  const [first, ...rest] = args as unknown[];
  if (first && typeof first === 'object' && !(first instanceof Error) && !Array.isArray(first)) {
    const bound = this.bindings();
    const clash = Object.keys(first).filter((k) => k in bound);
    if (clash.length > 0) {
      const own: Record<string, unknown> = { ...(first as Record<string, unknown>) };
      const override: Record<string, unknown> = {};
      for (const k of clash) {
        if (JSON.stringify(bound[k]) !== JSON.stringify(own[k])) override[k] = own[k];
        delete own[k];
      }
      method.apply(Object.keys(override).length > 0 ? this.child(override) : this, [own, ...rest]);
      return;
    }
  }
  method.apply(this, args);
}

/**
 * The one pino root of a daemon: JSON lines to stdout, which journald and OpenRC's logger keep.
 * No transports and no worker threads; pipe through pino-pretty to read it by hand. Every line
 * has each key once, however children and calls repeat them.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    base: options.base ?? {},
    timestamp: pino.stdTimeFunctions.isoTime,
    onChild: dedupeBindings,
    hooks: { logMethod: logOnce },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that drops everything, for tests and the CLI's quiet paths. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
