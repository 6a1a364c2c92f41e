import { callUnary } from '@binhost/shared';
import { optFlag, type CommandInput, type CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';

/**
 * `binhostctl sync NAME [--yes] [-- EMERGE ARGS]`: asks the target to mirror its published
 * snapshot and install it by its policy; `--yes` confirms the install under the confirm policy
 * (and for an explicit request, under off). A target that is not connected gets the request
 * (the latest one) when it next connects.
 */
export const spec: CliCommand = {
  name: 'sync',
  summary: 'ask the target to mirror its published snapshot and install it by its policy',
  description:
    '--yes confirms the install under the confirm policy (and, for this request, under off). A\n' +
    'target that is not connected gets the request (the latest one only) when it next connects.',
  args: [{ name: 'NAME', description: 'the target' }],
  options: [{ flags: '-y, --yes', description: 'confirm the install' }],
  passthrough: { name: 'EMERGE_ARGS', description: 'install arguments instead of --update --deep --newuse @world' },
  json: '{version, target, requestId, delivered, confirmed}',
  examples: ['sync alpha', 'sync alpha --yes'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const name = input.args[0]!;
  const yes = optFlag(input, 'yes');
  const client = await ctx.admin();
  const res = await callUnary(client.triggerSync.bind(client), { target: name, confirmed: yes, args: [...input.rest] });
  if (ctx.json) printJson(ctx.stdout, { target: name, requestId: res.requestId, delivered: res.delivered, confirmed: yes });
  else if (res.delivered) ctx.stdout.write(`sync requested for ${name} (request ${res.requestId})${yes ? ', install confirmed' : ''}\n`);
  else ctx.stdout.write(`${name} is not connected: sync request ${res.requestId} is queued for its next connection${yes ? ', install confirmed' : ''}\n`);
  return 0;
}
