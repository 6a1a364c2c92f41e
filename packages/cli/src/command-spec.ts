import type { CommandContext } from './context.js';

/** A positional argument: `NAME` (required), `[BUILD]` (optional), `[NAME...]` (any number). */
export interface ArgSpec {
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
  readonly variadic?: boolean;
  /** The only words accepted (checked before the command runs; completion offers them). */
  readonly choices?: readonly string[];
}

/** An option of one command, in commander's syntax (`-f, --follow`, `--limit <N>`). */
export interface OptionSpec {
  readonly flags: string;
  readonly description: string;
  readonly default?: string | boolean;
  readonly choices?: readonly string[];
  /** The option may be given more than once; its value is then a list. */
  readonly repeatable?: boolean;
  /** Completion offers file names for its value. */
  readonly file?: boolean;
  /** The command cannot run without it. */
  readonly required?: boolean;
}

/** What a command's `run` receives, already checked against its spec. */
export interface CommandInput {
  /** Positionals in the order of the spec's `args`; a variadic one is flattened at the end. */
  readonly args: readonly string[];
  /** Option values by camel-cased long name (`--check-config` → `checkConfig`). */
  readonly opts: Readonly<Record<string, string | boolean | string[] | undefined>>;
  /** Words after `--`, for commands with `passthrough`. */
  readonly rest: readonly string[];
}

/**
 * One command of `binhostctl`: everything its help, its argument checks, its completion and the
 * README's user guide are made from. The table of these (dispatch.ts) is the CLI.
 */
export interface CliCommand {
  /** `status`, or `target show` for a subcommand. */
  readonly name: string;
  /** One line, shown in the command list. */
  readonly summary: string;
  /** More text for `--help`, after the summary. */
  readonly description?: string;
  readonly args?: readonly ArgSpec[];
  readonly options?: readonly OptionSpec[];
  /** The command takes `-- WORDS` (emerge arguments); without this, `--` is a usage error. */
  readonly passthrough?: { readonly name: string; readonly description: string; readonly required?: boolean };
  /** Command lines shown under "Examples:", without the leading `binhostctl`. */
  readonly examples: readonly string[];
  /** What `--json` prints: a sentence for the help text. */
  readonly json?: string;
  run(input: CommandInput, ctx: CommandContext): Promise<number>;
}

/** A command that only groups subcommands (`target`, `pki`). */
export interface GroupSpec {
  readonly name: string;
  readonly summary: string;
}

/** An option's value as a string (undefined when not given). */
export function optString(input: CommandInput, key: string): string | undefined {
  const v = input.opts[key];
  return typeof v === 'string' ? v : undefined;
}

/** A boolean option's value. */
export function optFlag(input: CommandInput, key: string): boolean {
  return input.opts[key] === true;
}
