import { parseArgs } from 'node:util';
import { callUnary, UsageError } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';

/**
 * `binhostctl sync NAME [--yes] [-- EMERGE ARGS]`: asks the target to mirror its published
 * snapshot and install it by its policy; `--yes` confirms the install under the confirm policy
 * (and for an explicit request, under off). A target that is not connected gets the request
 * (the latest one) when it next connects.
 */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const split = args.indexOf('--');
  const own = split < 0 ? args : args.slice(0, split);
  const emergeArgs = split < 0 ? [] : args.slice(split + 1);
  const { values, positionals } = parseArgs({ args: own, allowPositionals: true, options: { yes: { type: 'boolean', short: 'y', default: false } } });
  const [name, ...extra] = positionals;
  if (!name || extra.length) throw new UsageError('usage: binhostctl sync NAME [--yes] [-- EMERGE ARGS]');
  const client = await ctx.admin();
  const res = await callUnary(client.triggerSync.bind(client), { target: name, confirmed: values.yes, args: emergeArgs });
  if (ctx.json) printJson(ctx.stdout, res);
  else if (res.delivered) ctx.stdout.write(`sync requested for ${name} (request ${res.requestId})${values.yes ? ', install confirmed' : ''}\n`);
  else ctx.stdout.write(`${name} is not connected: sync request ${res.requestId} is queued for its next connection${values.yes ? ', install confirmed' : ''}\n`);
  return 0;
}
