import { Argument, Command, Option } from 'commander';
import type { ArgSpec, CommandInput, CliCommand, GroupSpec } from './command-spec.js';

/** The global options, accepted anywhere on the line (before or after the command). */
export const GLOBAL_OPTIONS = [
  { flags: '--config <FILE>', description: 'admin config file (default: $BINHOST_ADMIN_CONFIG or /etc/binhost/admin.toml)', file: true },
  { flags: '--json', description: 'print the versioned JSON view instead of text (see "JSON output" in the README)' },
  { flags: '-v, --verbose', description: 'full texts (errors, flag lists) instead of shortened ones' },
] as const;

/** What the program builder needs from `dispatch`. */
export interface ProgramOptions {
  readonly version: string;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Words after the first `--` of the command line (commander never sees them). */
  readonly rest: readonly string[] | undefined;
  /** Runs a command once its arguments are checked; its result is the exit code. */
  readonly run: (spec: CliCommand, input: CommandInput, globals: Record<string, unknown>) => Promise<number>;
  /** Receives the exit code of the command that ran. */
  readonly done: (code: number) => void;
}

const HELP_EPILOGUE = 'exit codes: 0 ok, 1 failed, 2 bad usage, 69 host unreachable, 78 configuration error';

/** The width help text is wrapped to: the terminal's, else 80. */
function columns(stream: NodeJS.WritableStream): number {
  const c = (stream as NodeJS.WriteStream).columns;
  return typeof c === 'number' && c > 20 ? c : 80;
}

function argument(a: ArgSpec, cmd: Command): Argument {
  const word = a.variadic ? `${a.name}...` : a.name;
  const arg = new Argument(a.optional || a.variadic ? `[${word}]` : `<${word}>`, a.description);
  // choices() for help and completion; the check says what is allowed in plain words
  if (a.choices) arg.choices(a.choices);
  if (a.choices && !a.variadic) arg.argParser(choiceParser(cmd, a.name, a.choices));
  return arg;
}

/**
 * Checks a value against `choices` with a message naming WHAT and the allowed values
 * (`POLICY must be auto, confirm, off or default, got "sometimes"`), instead of commander's
 * "command-argument value 'sometimes' is invalid" (which it prefixes to any parser's message).
 */
function choiceParser(cmd: Command, what: string, choices: readonly string[]): (value: string) => string {
  const allowed = choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}` : (choices[0] ?? '');
  return (value) => {
    if (!choices.includes(value)) cmd.error(`error: ${what} must be ${allowed}, got "${value}"`);
    return value;
  };
}

/** Sends commander's output to our streams; a usage error is followed by the command's usage line. */
function configure(cmd: Command, path: string, o: ProgramOptions): Command {
  return cmd
    .exitOverride()
    .configureOutput({
      writeOut: (s) => o.stdout.write(s),
      writeErr: (s) => o.stderr.write(s),
      getOutHelpWidth: () => columns(o.stdout),
      getErrHelpWidth: () => columns(o.stderr),
      outputError: (s, write) =>
        write(`binhostctl: ${s.replace(/^error: /, '')}${s.endsWith('\n') ? '' : '\n'}usage: ${path} ${cmd.usage()}\n(see "${path} --help")\n`),
    })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .helpOption('-h, --help', 'show this help');
}

/** Help text after commander's own: the `-- ARGS`, what --json prints, examples. */
function epilogue(spec: CliCommand): string {
  const parts: string[] = [];
  if (spec.passthrough) parts.push(`After --:\n  ${spec.passthrough.name}  ${spec.passthrough.description}`);
  if (spec.json) parts.push(`--json:\n  ${spec.json}`);
  parts.push(`Examples:\n${spec.examples.map((e) => `  binhostctl ${e}`).join('\n')}`);
  return `\n${parts.join('\n\n')}\n`;
}

/** Adds one spec as a commander command under `parent`. */
function addCommand(parent: Command, spec: CliCommand, o: ProgramOptions): void {
  const leaf = spec.name.split(' ').at(-1)!;
  const cmd = configure(parent.command(leaf), `binhostctl ${spec.name}`, o).summary(spec.summary);
  // Single newlines in a description are for the source only: commander wraps to the terminal.
  cmd.description(spec.description ? `${spec.summary}.\n\n${spec.description.replace(/(?<!\n)\n(?!\n)/g, ' ')}` : spec.summary);
  for (const a of spec.args ?? []) cmd.addArgument(argument(a, cmd));
  if (spec.passthrough) cmd.usage(`${cmd.usage()} ${spec.passthrough.required ? '' : '['}-- ${spec.passthrough.name}...${spec.passthrough.required ? '' : ']'}`);
  for (const opt of spec.options ?? []) {
    const option = new Option(opt.flags, opt.description);
    if (opt.default !== undefined) option.default(opt.default);
    if (opt.choices) option.choices(opt.choices).argParser(choiceParser(cmd, option.long ?? opt.flags, opt.choices));
    if (opt.required) option.makeOptionMandatory();
    if (opt.repeatable) option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(option);
  }
  cmd.addHelpText('after', epilogue(spec));
  cmd.action(async (...params: unknown[]) => {
    const self = params.at(-1) as Command;
    const args = (self.processedArgs as unknown[]).flatMap((v) => (v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [String(v)]));
    if (o.rest !== undefined && !spec.passthrough) self.error(`error: ${spec.name} takes no "-- ARGS"`);
    if (spec.passthrough?.required && !o.rest?.length) self.error(`error: ${spec.name} needs "-- ${spec.passthrough.name}..."`);
    const input: CommandInput = { args, opts: self.opts(), rest: o.rest ?? [] };
    try {
      o.done(await o.run(spec, input, self.optsWithGlobals()));
    } catch (err) {
      // A usage problem found by the command itself reads like commander's own.
      if (err instanceof Error && err.name === 'UsageError') self.error(`error: ${err.message}`);
      throw err;
    }
  });
}

/** A command that only holds subcommands; its help lists them and an example of each. */
function addGroup(root: Command, g: GroupSpec, specs: readonly CliCommand[], o: ProgramOptions): Command {
  const cmd = configure(root.command(g.name), `binhostctl ${g.name}`, o).summary(g.summary).description(g.summary);
  const examples = specs.filter((s) => s.name.startsWith(`${g.name} `)).map((s) => `  binhostctl ${s.examples[0] ?? s.name}`);
  sayWhatIsWrong(cmd, `binhostctl ${g.name}`, 'subcommand');
  return cmd.addHelpText('after', `\nExamples:\n${examples.join('\n')}\n`);
}

/**
 * Commander answers a missing (sub)command and `help NOSUCH` with the whole help on stderr and
 * nothing else; this puts what is wrong on the first line: `binhostctl target: missing
 * subcommand (add, remove, …)`, `binhostctl: unknown command "nosuch"`.
 */
function sayWhatIsWrong(cmd: Command, path: string, what: 'command' | 'subcommand'): void {
  cmd.addHelpText('before', ({ error }) => {
    if (!error) return '';
    const [first, second] = cmd.args;
    if (first === 'help' && second !== undefined) return `${path}: unknown ${what} "${second}"`;
    // the program's commands are listed just below; a group's few are named here
    if (what === 'command') return `${path}: missing command`;
    return `${path}: missing subcommand (${cmd.commands.map((c) => c.name()).join(', ')})`;
  });
}

/**
 * Builds `binhostctl` as a commander program from the command table: every command and
 * subcommand gets `-h/--help` (usage, options, examples), the program `-V/--version`; errors in
 * the arguments are reported with the command's usage line (the caller maps them to exit 2).
 */
export function buildProgram(specs: readonly CliCommand[], groups: readonly GroupSpec[], o: ProgramOptions): Command {
  const root = configure(new Command('binhostctl'), 'binhostctl', o)
    .description('Admin CLI of the binhost agents: targets, builds, snapshots, installs, certificates.')
    .version(o.version, '-V, --version', 'print the version')
    .addHelpText('after', `\n${HELP_EPILOGUE}\nEach command has --help, e.g. "binhostctl status --help".\n`);
  for (const g of GLOBAL_OPTIONS) root.option(g.flags, g.description);
  sayWhatIsWrong(root, 'binhostctl', 'command');
  // Commands appear in the table's order; a group (`target`) where its first subcommand is.
  const parents = new Map<string, Command>();
  for (const spec of specs) {
    const groupName = spec.name.includes(' ') ? spec.name.split(' ')[0]! : undefined;
    let parent = root;
    if (groupName) {
      const g = groups.find((x) => x.name === groupName);
      if (!g) throw new Error(`command "${spec.name}" has no group "${groupName}"`);
      parent = parents.get(groupName) ?? addGroup(root, g, specs, o);
      parents.set(groupName, parent);
    }
    addCommand(parent, spec, o);
  }
  return root;
}
