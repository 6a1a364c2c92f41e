import { callUnary, type RemoveTargetResponse } from '@binhost/shared';
import { optFlag, type CommandInput, type CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { removeView } from '../view.js';

/** Deleting a large root (and stopping a build first) takes a while; the host finishes it even if we give up. */
const DEADLINE_MS = 10 * 60_000;

/**
 * `binhostctl target remove NAME [--purge]`: forgets a target on the host (record, state history,
 * published pointer, queued sync). Its root is kept; `--purge` deletes it too unless another
 * target shares it. Refused while the target is connected.
 */
export const spec: CliCommand = {
  name: 'target remove',
  summary: 'forget a target on the host; --purge also deletes its root',
  description:
    'Refused while NAME is connected: stop binhost-target on it first. Queued and running builds of\n' +
    'its root are cancelled when no other target uses the root. The root and its builds and\n' +
    'snapshots are kept unless --purge (and no other target shares it).',
  args: [{ name: 'NAME', description: 'the target' }],
  options: [{ flags: '--purge', description: "also delete the target's root, its builds and snapshots" }],
  json: '{version, name, root, rootRemoved, sharedWith, cancelledBuilds, ownRoot, ownRootRemoved}',
  examples: ['target remove alpha', 'target remove alpha --purge'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const name = input.args[0]!;
  const purge = optFlag(input, 'purge');
  const client = await ctx.admin();
  const res = await callUnary(client.removeTarget.bind(client), { name, purge }, { deadlineMs: DEADLINE_MS });
  if (ctx.json) {
    printJson(ctx.stdout, removeView(name, res));
    return 0;
  }
  ctx.stdout.write(describe(name, purge, res));
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
