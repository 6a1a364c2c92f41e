import { parseArgs } from 'node:util';
import { callUnary, RemoveTargetResponse, UsageError } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';

const USAGE = 'usage: binhostctl target remove NAME [--purge] [--json]';

/** Deleting a large root (and stopping a build first) takes a while; the host finishes it even if we give up. */
const DEADLINE_MS = 10 * 60_000;

/**
 * `binhostctl target remove NAME [--purge] [--json]`: forgets a target on the host (record, state
 * history, published pointer, queued sync). Its root is kept; `--purge` deletes it too unless
 * another target shares it. Refused while the target is connected.
 */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { purge: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  });
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0) throw new UsageError(USAGE);
  const client = await ctx.admin();
  const res = await callUnary(client.removeTarget.bind(client), { name, purge: values.purge }, { deadlineMs: DEADLINE_MS });
  if (ctx.json || values.json) {
    printJson(ctx.stdout, { name, ...(RemoveTargetResponse.toJSON(res) as object) });
    return 0;
  }
  ctx.stdout.write(describe(name, values.purge, res));
  return 0;
}

/** What was removed and what was kept, in a sentence or two. */
export function describe(name: string, purge: boolean, res: RemoveTargetResponse): string {
  const lines = [`target ${name} removed`];
  if (res.cancelledBuilds.length > 0) lines.push(`cancelled build${res.cancelledBuilds.length > 1 ? 's' : ''} ${res.cancelledBuilds.join(', ')} of root ${res.root}`);
  if (!res.root) lines.push('it had no root');
  else if (res.rootRemoved) lines.push(`root ${res.root} removed, with its builds and snapshots`);
  else if (res.sharedWith.length > 0) lines.push(`root ${res.root} kept: shared with ${res.sharedWith.join(', ')}`);
  else if (purge) lines.push(`root ${res.root} was already gone`);
  else lines.push(`root ${res.root} kept, with its builds and snapshots (--purge deletes it)`);
  if (res.ownRoot) {
    const what = `its own root ${res.ownRoot} (unused while it shared ${res.root || 'another'})`;
    if (res.ownRootRemoved) lines.push(`${what} removed`);
    else lines.push(purge ? `${what} kept: another target uses it` : `${what} kept (--purge deletes it)`);
  }
  return lines.join('\n') + '\n';
}
