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
 * The one pino root of a daemon: JSON lines to stdout, which journald and OpenRC's logger keep.
 * No transports and no worker threads; pipe through pino-pretty to read it by hand.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    base: options.base ?? {},
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that drops everything, for tests and the CLI's quiet paths. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
