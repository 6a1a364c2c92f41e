import { callUnary } from '@binhost/shared';
import type { CommandInput, CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { buildView } from '../view.js';
import { parseId, statusName } from './build-format.js';

/** `binhostctl cancel NAME [BUILD]`: stops the running (or the given) build; waits until it has ended. */
export const spec: CliCommand = {
  name: 'cancel',
  summary: 'stop a running or queued build (the running one by default) and wait until it has ended',
  description: "emerge gets SIGTERM, then SIGKILL after the host's build.cancel_grace_seconds.",
  args: [
    { name: 'NAME', description: 'the target' },
    { name: 'BUILD', description: 'a build id (see "builds")', optional: true },
  ],
  json: '{version, build} (as in "builds --json")',
  examples: ['cancel alpha', 'cancel alpha 12'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const [target, id] = input.args;
  const buildId = parseId(id, 'BUILD');
  const client = await ctx.admin();
  // Cancelling waits for emerge to stop, up to the host's grace period before SIGKILL.
  const { build } = await callUnary(client.cancelBuild.bind(client), { target: target!, buildId }, { deadlineMs: 3_700_000 });
  if (ctx.json) printJson(ctx.stdout, { build: build ? buildView(build) : null });
  else ctx.stdout.write(`build ${build?.id ?? '?'} ${build ? statusName(build.status) : ''}${build?.error ? `: ${build.error}` : ''}\n`);
  return 0;
}
