import { UsageError } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import * as show from './target-show.js';
import * as diff from './target-diff.js';
import * as add from './target-add.js';
import * as config from './target-config.js';
import * as remove from './target-remove.js';

/** `binhostctl target SUBCOMMAND`: one file per subcommand. */
export const SUBCOMMANDS: Record<string, { run: (args: string[], ctx: CommandContext) => Promise<number>; usage: string }> = {
  show: { run: show.run, usage: 'target show NAME' },
  diff: { run: diff.run, usage: 'target diff NAME [FROM TO]' },
  add: { run: add.run, usage: 'target add NAME --stage3 FILE|URL [--sha256 HEX]' },
  config: { run: config.run, usage: 'target config NAME' },
  remove: { run: remove.run, usage: 'target remove NAME [--purge] [--json]' },
};

export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const [sub, ...rest] = args;
  const entry = sub ? SUBCOMMANDS[sub] : undefined;
  if (!entry) {
    throw new UsageError(`usage:\n${Object.values(SUBCOMMANDS).map((s) => `  binhostctl ${s.usage}`).join('\n')}`);
  }
  return entry.run(rest, ctx);
}
