import { callUnary, UsageError } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { parseId, statusName } from './build-format.js';

/** `binhostctl cancel NAME [BUILD]`: stops the running (or the given) build; waits until it has ended. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const [target, id, ...extra] = args;
  if (!target || extra.length) throw new UsageError('usage: binhostctl cancel NAME [BUILD]');
  const client = await ctx.admin();
  // Cancelling waits for emerge to stop, up to the host's grace period before SIGKILL.
  const { build } = await callUnary(client.cancelBuild.bind(client), { target, buildId: parseId(id, 'BUILD') }, { deadlineMs: 3_700_000 });
  ctx.stdout.write(`build ${build?.id ?? '?'} ${build ? statusName(build.status) : ''}${build?.error ? `: ${build.error}` : ''}\n`);
  return 0;
}
