import { callUnary } from '@binhost/shared';
import { optString, type CommandInput, type CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { snapshotView } from '../view.js';
import { parseId } from './build-format.js';

/** `binhostctl publish NAME --snapshot N`: serve an older (rollback) or newer kept snapshot. */
export const spec: CliCommand = {
  name: 'publish',
  summary: 'serve a kept snapshot to the target: a rollback, or forward again',
  description: 'The target mirrors and installs it by its install policy, as after a build.',
  args: [{ name: 'NAME', description: 'the target' }],
  options: [{ flags: '--snapshot <N>', description: 'the snapshot id (see "snapshots")', required: true }],
  json: '{version, target, snapshot} (the snapshot as in "snapshots --json")',
  examples: ['publish alpha --snapshot 3'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const target = input.args[0]!;
  const snapshotId = parseId(optString(input, 'snapshot'), '--snapshot');
  const client = await ctx.admin();
  const { snapshot } = await callUnary(client.publishSnapshot.bind(client), { target, snapshotId });
  if (ctx.json) printJson(ctx.stdout, { target, snapshot: snapshot ? snapshotView(snapshot) : null });
  else ctx.stdout.write(`snapshot ${snapshot?.id} of root ${snapshot?.root} published for ${target}\n`);
  return 0;
}
