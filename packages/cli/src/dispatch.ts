import { CommanderError } from 'commander';
import { status } from '@grpc/grpc-js';
import { AgentError, ConfigError, errnoCode, errorMessage, EXIT, isServiceError, packageVersion, type AdminServiceClient } from '@binhost/shared';
import type { CliCommand, GroupSpec } from './command-spec.js';
import { createContext, type CommandContext } from './context.js';
import { describeHostError } from './host-errors.js';
import { buildProgram } from './program.js';
import * as pki from './commands/pki.js';
import * as targets from './commands/targets.js';
import * as target from './commands/target.js';
import * as statusCmd from './commands/status.js';
import * as sync from './commands/sync.js';
import * as emerge from './commands/emerge.js';
import * as policy from './commands/policy.js';
import * as builds from './commands/builds.js';
import * as logs from './commands/logs.js';
import * as build from './commands/build.js';
import * as cancel from './commands/cancel.js';
import * as snapshots from './commands/snapshots.js';
import * as publish from './commands/publish.js';
import * as history from './commands/history.js';
import * as df from './commands/df.js';
import * as gc from './commands/gc.js';
import * as completion from './commands/completion.js';

/** Commands that only group subcommands. */
export const GROUPS: readonly GroupSpec[] = [
  { name: 'pki', summary: 'create the CA and issue host, target and admin certificates' },
  { name: 'target', summary: 'show, diff, add, remove a target; show its applied config' },
];

/**
 * The command table: every command of `binhostctl`, in the order help lists them. Help, argument
 * checks, completion and the README's user guide are all made from it.
 */
export const COMMANDS: readonly CliCommand[] = [
  ...pki.specs,
  targets.spec,
  ...target.specs,
  statusCmd.spec,
  sync.spec,
  emerge.spec,
  policy.spec,
  build.spec,
  builds.spec,
  logs.spec,
  cancel.spec,
  snapshots.spec,
  publish.spec,
  history.spec,
  df.spec,
  gc.spec,
  completion.createSpec(() => ({ commands: COMMANDS, groups: GROUPS })),
];

/** Streams and, for tests, a stand-in host client. */
export type DispatchIo = Partial<Pick<CommandContext, 'stdout' | 'stderr'>> & {
  admin?: () => Promise<AdminServiceClient>;
  env?: NodeJS.ProcessEnv;
};

/**
 * Runs one `binhostctl` command line and returns its exit code (README, "Exit codes"): usage
 * errors anywhere on the line are 2 with the usage on stderr, an unreachable host 69, a
 * configuration or certificate problem 78. Only a bug escapes as an exception.
 */
export async function dispatch(argv: readonly string[], io: DispatchIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  // Words after the first `--` are emerge's; commander never sees them, so `--json` there stays emerge's.
  const split = argv.indexOf('--');
  const rest = split < 0 ? undefined : argv.slice(split + 1);
  let code: number = EXIT.OK;
  let ctx: CommandContext | undefined;
  let command = '';
  const program = buildProgram(COMMANDS, GROUPS, {
    version: `binhostctl ${packageVersion(import.meta.url)}`,
    stdout,
    stderr,
    rest,
    done: (c) => (code = c),
    run: async (spec, input, globals) => {
      command = spec.name;
      ctx = createContext({
        json: globals['json'] === true,
        verbose: globals['verbose'] === true,
        configFile: typeof globals['config'] === 'string' ? globals['config'] : undefined,
        stdout,
        stderr,
        ...(io.admin ? { admin: io.admin } : {}),
        ...(io.env ? { env: io.env } : {}),
      });
      return spec.run(input, ctx);
    },
  });
  try {
    await program.parseAsync(split < 0 ? [...argv] : argv.slice(0, split), { from: 'user' });
    return code;
  } catch (err) {
    // Help and --version end with exit code 0; every argument error with 2.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (err instanceof ConfigError) {
      stderr.write(`binhostctl: configuration error: ${err.message}\n`);
      return EXIT.CONFIG;
    }
    if (isServiceError(err)) {
      // grpc-js hides why a TLS handshake failed: ask TLS itself.
      const tlsError = err.code === status.UNAVAILABLE ? await ctx?.probeTls() : undefined;
      const failure = describeHostError(err, ctx?.hostAddress(), tlsError);
      // What the host refused is said with the command; an unreachable host or a certificate problem without.
      stderr.write(`binhostctl: ${failure.exitCode === EXIT.FAILURE ? `${command}: ` : ''}${failure.message}\n`);
      return failure.exitCode;
    }
    // Local failures said in a line: a key file that exists, a stage3 file that is not there (ENOENT).
    if (err instanceof AgentError || /^E[A-Z]+$/.test(errnoCode(err) ?? '')) {
      stderr.write(`binhostctl: ${errorMessage(err)}\n`);
      return EXIT.FAILURE;
    }
    throw err;
  } finally {
    ctx?.close();
  }
}
