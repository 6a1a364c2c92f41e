import { parseArgs } from 'node:util';
import { callUnary, Snapshot, UsageError } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { parseId } from './build-format.js';

/** `binhostctl publish NAME --snapshot N`: serve an older (rollback) or newer kept snapshot. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { snapshot: { type: 'string' } } });
  const [target, ...extra] = positionals;
  if (!target || extra.length || !values.snapshot) throw new UsageError('usage: binhostctl publish NAME --snapshot N');
  const client = await ctx.admin();
  const { snapshot } = await callUnary(client.publishSnapshot.bind(client), { target, snapshotId: parseId(values.snapshot, '--snapshot') });
  if (ctx.json) printJson(ctx.stdout, snapshot ? Snapshot.toJSON(snapshot) : null);
  else ctx.stdout.write(`snapshot ${snapshot?.id} of root ${snapshot?.root} published for ${target}\n`);
  return 0;
}
