import { optFlag, type CommandInput, type CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { parseId, printLog } from './build-format.js';

/** `binhostctl logs [-f] NAME [BUILD]`: a build's log (the latest build by default); -f follows it. */
export const spec: CliCommand = {
  name: 'logs',
  summary: "a build's log (the latest build of NAME by default); -f follows it live",
  description: 'A follower gets every line once, in order, then the result; the exit code is 1 when the build failed.',
  args: [
    { name: 'NAME', description: 'the target' },
    { name: 'BUILD', description: 'a build id (see "builds")', optional: true },
  ],
  options: [{ flags: '-f, --follow', description: 'keep printing until the build ends' }],
  json: 'JSON Lines: {version, event: "line", text}, {version, event: "build"|"finished", build}',
  examples: ['logs alpha', 'logs -f alpha 12'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const [target, build] = input.args;
  return printLog(ctx, target!, parseId(build, 'BUILD'), optFlag(input, 'follow'));
}
