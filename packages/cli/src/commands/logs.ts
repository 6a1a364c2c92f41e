import { parseArgs } from 'node:util';
import { UsageError } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { parseId, printLog } from './build-format.js';

/** `binhostctl logs [-f] NAME [BUILD]`: a build's log (the latest build by default); -f follows it. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { follow: { type: 'boolean', short: 'f', default: false } } });
  const [target, build] = positionals;
  if (!target) throw new UsageError('usage: binhostctl logs [-f] NAME [BUILD]');
  return printLog(ctx, target, parseId(build, 'BUILD'), values.follow);
}
