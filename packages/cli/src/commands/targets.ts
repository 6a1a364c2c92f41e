import { callUnary, TargetSummary } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { ago, printDamaged, printJson, shortDigest, table } from '../output.js';

/** `binhostctl targets`: every target, connected or not, and when it was last seen; damaged records under the table. */
export async function run(_args: string[], ctx: CommandContext): Promise<number> {
  const client = await ctx.admin();
  const res = await callUnary(client.listTargets.bind(client), {});
  if (ctx.json) {
    printJson(ctx.stdout, res.targets.map((t) => TargetSummary.toJSON(t)));
    return 0;
  }
  table(
    ctx.stdout,
    ['TARGET', 'STATE', 'LAST SEEN', 'DIGEST', 'ROOT'],
    res.targets.map((t) => [
      t.name,
      (t.connected ? 'connected' : 'disconnected') + (t.damaged.length ? ', damaged' : ''),
      ago(t.lastSeen),
      shortDigest(t.configDigest),
      t.root ? (t.sharesRootWith.length ? `${t.root} (shared with ${t.sharesRootWith.join(', ')})` : t.root) : '-',
    ]),
  );
  printDamaged(ctx.stdout, res.targets);
  return 0;
}
