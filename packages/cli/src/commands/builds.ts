import { callUnary, UsageError } from '@binhost/shared';
import { optString, type CommandInput, type CommandSpec } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson, table } from '../output.js';
import { buildView } from '../view.js';
import { buildRow } from './build-format.js';

/** `binhostctl builds [NAME] [--limit N]`: build history, newest first, with live progress. */
export const spec: CommandSpec = {
  name: 'builds',
  summary: 'build history, newest first, with the progress of running builds',
  args: [{ name: 'NAME', description: 'only the builds of this target', optional: true }],
  options: [{ flags: '--limit <N>', description: 'at most N builds', default: '20' }],
  json: '{version, builds: [{id, target, root, kind: auto|manual, status: queued|running|succeeded|failed|cancelled|interrupted, args, configDigest, queuedAt, startedAt, finishedAt, exitCode, error, logTail, snapshotId, progress: {currentPackage, packageIndex, packageCount, phase}}]}',
  examples: ['builds', 'builds alpha --limit 5'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const text = optString(input, 'limit') ?? '20';
  const limit = Number(text);
  if (!/^[1-9]\d{0,5}$/.test(text)) throw new UsageError(`--limit must be a positive number, got "${text}"`);
  const client = await ctx.admin();
  const res = await callUnary(client.listBuilds.bind(client), { target: input.args[0] ?? '', limit });
  if (ctx.json) {
    printJson(ctx.stdout, { builds: res.builds.map(buildView) });
    return 0;
  }
  table(ctx.stdout, ['BUILD', 'TARGET', 'STATUS', 'KIND', 'STARTED', 'DETAIL'], res.builds.map(buildRow));
  return 0;
}
