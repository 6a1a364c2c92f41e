import { callUnary } from '@binhost/shared';
import type { CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { ago, printDamaged, printJson, shortDigest, table } from '../output.js';
import { targetView } from '../view.js';

/** `binhostctl targets`: every target, connected or not, and when it was last seen; damaged records under the table. */
export const spec: CliCommand = {
  name: 'targets',
  summary: 'list targets: connected or not, last seen, config digest, root',
  json: '{version, targets: [target]}, each target as in "status --json"',
  examples: ['targets', 'targets --json'],
  run,
};

async function run(_input: unknown, ctx: CommandContext): Promise<number> {
  const client = await ctx.admin();
  const res = await callUnary(client.listTargets.bind(client), {});
  if (ctx.json) {
    printJson(ctx.stdout, { targets: res.targets.map(targetView) });
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
