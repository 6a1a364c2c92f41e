import { parseArgs } from 'node:util';
import { Build, callUnary, UsageError } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { printLog, statusName } from './build-format.js';

/**
 * `binhostctl build NAME [--follow] [-- ARGS]`: queues a build in the target's root; without
 * ARGS the automatic `--update --deep --newuse --changed-deps=y --with-bdeps=y --usepkg=y @world`. Prints the build id.
 */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const split = args.indexOf('--');
  const own = split < 0 ? args : args.slice(0, split);
  const emergeArgs = split < 0 ? [] : args.slice(split + 1);
  const { values, positionals } = parseArgs({ args: own, allowPositionals: true, options: { follow: { type: 'boolean', short: 'f', default: false } } });
  const [target, ...extra] = positionals;
  if (!target || extra.length) throw new UsageError('usage: binhostctl build NAME [--follow] [-- EMERGE_ARGS...]');
  const client = await ctx.admin();
  const { build } = await callUnary(client.triggerBuild.bind(client), { target, args: emergeArgs });
  if (!build) throw new Error('the host answered without a build');
  if (ctx.json) printJson(ctx.stdout, Build.toJSON(build));
  else ctx.stdout.write(`${build.id}\n`);
  ctx.stderr.write(`build ${build.id} of ${target} ${statusName(build.status)} in root ${build.root}: emerge --buildpkg --root-deps ${build.args.join(' ')}\n`);
  return values.follow ? printLog(ctx, target, build.id, true) : 0;
}
