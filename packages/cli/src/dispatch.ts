import { parseArgs } from 'node:util';
import { status } from '@grpc/grpc-js';
import { errnoCode, errorMessage, EXIT, isServiceError, UsageError } from '@binhost/shared';
import { createContext, type CommandContext } from './context.js';
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
import * as completion from './commands/completion.js';
import * as history from './commands/history.js';

/** A CLI verb: parses its own arguments, prints, returns an exit code. */
export type Command = (args: string[], ctx: CommandContext) => Promise<number>;

/** Every verb `binhostctl` has, with its one-line help. */
export const COMMANDS: Record<string, { run: Command; help: string; subcommands?: readonly string[] }> = {
  pki: { run: pki.run, help: 'create the CA and issue host, target and admin certificates' },
  targets: { run: targets.run, help: 'list targets: connected or not, last seen, digest, root' },
  target: { run: target.run, help: 'show, diff, add, remove a target; show its applied config', subcommands: Object.keys(target.SUBCOMMANDS) },
  status: { run: statusCmd.run, help: 'per target: connected, digests, published/installed snapshot, last error' },
  sync: { run: sync.run, help: 'sync NAME [--yes]: mirror and install the published snapshot' },
  emerge: { run: emerge.run, help: 'emerge NAME -- ARGS: build ARGS on the host, install them on NAME' },
  policy: { run: policy.run, help: 'policy NAME auto|confirm|off|default: the install policy' },
  build: { run: build.run, help: 'build NAME [--follow] [-- ARGS]: queue a build, print its id' },
  builds: { run: builds.run, help: 'builds [NAME]: build history and live progress' },
  logs: { run: logs.run, help: 'logs [-f] NAME [BUILD]: a build log; -f follows it live' },
  cancel: { run: cancel.run, help: 'cancel NAME [BUILD]: stop a running or queued build' },
  snapshots: { run: snapshots.run, help: 'snapshots NAME: kept snapshots, * = published' },
  publish: { run: publish.run, help: 'publish NAME --snapshot N: serve a kept snapshot (rollback)' },
  history: { run: history.run, help: 'history NAME: config digests reported, and the builds and snapshots made from each' },
  completion: { run: (args, ctx) => completion.run(args, ctx, COMMANDS), help: 'print a bash or zsh completion script' },
};

export const USAGE = `usage: binhostctl [--config FILE] [--json] COMMAND [ARGS]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.help}`)
  .join('\n')}

--config defaults to $BINHOST_ADMIN_CONFIG or /etc/binhost/admin.toml.
exit codes: 0 ok, 1 failed, 2 usage, 69 host unreachable, 78 configuration error`;

/** Parses global flags, runs the verb, and turns host errors into exit codes. */
export async function dispatch(argv: string[], io: Partial<Pick<CommandContext, 'stdout' | 'stderr'>> = {}): Promise<number> {
  const split = verbIndex(argv);
  const { values } = parseArgs({
    args: argv.slice(0, split),
    options: { config: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  const [verb, ...args] = argv.slice(split);
  const ctx = createContext({ json: values.json, configFile: values.config, ...io });
  if (values.help || !verb || verb === 'help') {
    ctx.stdout.write(USAGE + '\n');
    return verb || values.help ? EXIT.OK : EXIT.USAGE;
  }
  const command = COMMANDS[verb];
  if (!command) throw new UsageError(`unknown command "${verb}"\n${USAGE}`);
  try {
    return await command.run(args, ctx);
  } catch (err) {
    if (errnoCode(err)?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(`${verb}: ${errorMessage(err)}`);
    if (isServiceError(err)) {
      ctx.stderr.write(`binhostctl: ${verb}: ${err.details || err.message}\n`);
      return err.code === status.UNAVAILABLE ? EXIT.UNAVAILABLE : EXIT.FAILURE;
    }
    throw err;
  } finally {
    ctx.close();
  }
}

/** Where the verb starts: after the global flags, where `--config` takes the next word as its value. */
function verbIndex(argv: readonly string[]): number {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '--') i += argv[i] === '--config' ? 2 : 1;
  return Math.min(i, argv.length);
}
