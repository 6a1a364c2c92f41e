import { callUnary } from '@binhost/shared';
import type { CommandInput, CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { ago, printJson, shortDigest, table } from '../output.js';
import { buildStatusWord, buildView, digestView } from '../view.js';

/**
 * `binhostctl history NAME`: the config digests the target reported, oldest first, each with the
 * builds made from it and the snapshot they published — when the config changed, and what came of
 * each change. `binhostctl target diff NAME FROM TO` shows what a change was.
 */
export const spec: CliCommand = {
  name: 'history',
  summary: 'the config digests a target reported, and the builds and snapshots made from each',
  description: '"target diff NAME FROM TO" shows what a change was.',
  args: [{ name: 'NAME', description: 'the target' }],
  json: '{version, name, history: [{digest, reportedAt}], builds: [build]} (builds as in "builds --json")',
  examples: ['history alpha'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const name = input.args[0]!;
  const client = await ctx.admin();
  const target = await callUnary(client.getTarget.bind(client), { name });
  const { builds } = await callUnary(client.listBuilds.bind(client), { target: name, limit: 0 });
  const own = builds.filter((b) => b.target === name);
  if (ctx.json) {
    printJson(ctx.stdout, { name, history: target.history.map(digestView), builds: own.map(buildView) });
    return 0;
  }
  table(
    ctx.stdout,
    ['REPORTED', 'DIGEST', 'BUILDS', 'SNAPSHOTS'],
    target.history.map((h) => {
      const made = own.filter((b) => b.configDigest === h.digest);
      return [
        ago(h.reportedAt),
        shortDigest(h.digest),
        made.map((b) => `#${b.id} ${buildStatusWord(b.status)}`).join(', ') || '-',
        made.filter((b) => b.snapshotId).map((b) => `#${b.snapshotId}`).join(', ') || '-',
      ];
    }),
  );
  return 0;
}
