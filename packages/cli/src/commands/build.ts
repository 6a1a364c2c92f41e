import { callUnary } from '@binhost/shared';
import { optFlag, type CommandInput, type CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson, printJsonLine } from '../output.js';
import { buildView } from '../view.js';
import { printLog, statusName } from './build-format.js';

/**
 * `binhostctl build NAME [--follow] [-- ARGS]`: queues a build in the target's root; without
 * ARGS the host's automatic arguments (`build.auto_args`). Prints the build id.
 */
export const spec: CliCommand = {
  name: 'build',
  summary: "queue a build in the target's root and print its id; -f follows its log",
  description:
    'Without -- ARGS the host builds its automatic arguments (build.auto_args, @world); with them,\n' +
    'emerge --buildpkg --root-deps ARGS. Either way it is a manual build (kind "manual").',
  args: [{ name: 'NAME', description: 'the target' }],
  options: [
    { flags: '-f, --follow', description: 'print the log live and wait for the result (exit 1 if it fails)' },
    {
      flags: '--reinstall-rebuilt',
      description: 'publish rebuilt instances even where USE and dependencies are unchanged, so targets reinstall them (by default a snapshot keeps the instance targets already have)',
    },
  ],
  passthrough: { name: 'EMERGE_ARGS', description: 'emerge arguments (atoms, --update, ...)' },
  json: '{version, build} (the build as in "builds --json"); with --follow JSON Lines: {version, event: "queued", build}, then the events of "logs --json"',
  examples: ['build alpha', 'build alpha -f -- --oneshot app-editors/vim', 'build alpha --reinstall-rebuilt -- --oneshot app-misc/hello'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const target = input.args[0]!;
  const client = await ctx.admin();
  const { build } = await callUnary(client.triggerBuild.bind(client), { target, args: [...input.rest], reinstallRebuilt: optFlag(input, 'reinstallRebuilt') });
  if (!build) throw new Error('the host answered without a build');
  const follow = optFlag(input, 'follow');
  // Followed, the whole output is JSON Lines: the queued build is its first event.
  if (ctx.json && follow) printJsonLine(ctx.stdout, 'queued', { build: buildView(build) });
  else if (ctx.json) printJson(ctx.stdout, { build: buildView(build) });
  else ctx.stdout.write(`${build.id}\n`);
  ctx.stderr.write(`build ${build.id} of ${target} ${statusName(build.status)} in root ${build.root}: emerge --buildpkg --root-deps ${build.args.join(' ')}\n`);
  return follow ? printLog(ctx, target, build.id, true) : 0;
}
