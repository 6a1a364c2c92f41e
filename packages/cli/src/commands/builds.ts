import { parseArgs } from 'node:util';
import { Build, callUnary } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { printJson, table } from '../output.js';
import { buildRow } from './build-format.js';

/** `binhostctl builds [NAME] [--limit N]`: build history, newest first, with live progress. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { limit: { type: 'string', default: '20' } } });
  const limit = Number(values.limit);
  const client = await ctx.admin();
  const res = await callUnary(client.listBuilds.bind(client), { target: positionals[0] ?? '', limit: Number.isInteger(limit) && limit > 0 ? limit : 20 });
  if (ctx.json) {
    printJson(ctx.stdout, res.builds.map((b) => Build.toJSON(b)));
    return 0;
  }
  table(ctx.stdout, ['BUILD', 'TARGET', 'STATUS', 'KIND', 'STARTED', 'DETAIL'], res.builds.map(buildRow));
  return 0;
}
