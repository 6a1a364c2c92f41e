import { ConfigError, errorMessage } from './errors.js';

/** Exit codes of the agents and the CLI (sysexits.h where one fits). */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  /** EX_UNAVAILABLE: the host could not be reached. */
  UNAVAILABLE: 69,
  /** EX_CONFIG: a config file or a certificate is wrong. */
  CONFIG: 78,
} as const;

/** Thrown for bad command-line usage; `runMain` prints it and exits with {@link EXIT.USAGE}. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Runs a program's `main` and exits with its code. Errors become one line on stderr prefixed with
 * the program's name, and an exit code that says what kind of failure it was. Only `main.ts`
 * files call this: nothing else exits the process.
 */
export function runMain(program: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${program}: configuration error: ${err.message}\n`);
        process.exit(EXIT.CONFIG);
      }
      if (err instanceof UsageError) {
        process.stderr.write(`${program}: ${err.message}\n`);
        process.exit(EXIT.USAGE);
      }
      process.stderr.write(`${program}: ${errorMessage(err)}\n`);
      process.exit(EXIT.FAILURE);
    },
  );
}

/** Resolves with the name of the first of SIGTERM or SIGINT to arrive. */
export function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

/**
 * Calls `handler` on every SIGHUP (the service managers' reload: `systemctl reload`,
 * `rc-service … reload`) until the returned function is called. While installed, SIGHUP no longer
 * ends the process, which is Node's default.
 */
export function onReloadSignal(handler: () => void): () => void {
  const on = () => handler();
  process.on('SIGHUP', on);
  return () => {
    process.off('SIGHUP', on);
  };
}
