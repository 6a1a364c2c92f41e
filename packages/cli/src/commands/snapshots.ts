import { callUnary } from '@binhost/shared';
import type { CommandInput, CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson, table } from '../output.js';
import { snapshotView } from '../view.js';
import { snapshotRow } from './build-format.js';

/** `binhostctl snapshots NAME`: the kept snapshots of the target's root; `*` marks the published one. */
export const spec: CliCommand = {
  name: 'snapshots',
  summary: "the kept snapshots of the target's root; * marks the published one",
  args: [{ name: 'NAME', description: 'the target' }],
  json: '{version, publishedSnapshotId, snapshots: [{id, root, buildId, builtDigest, createdAt, packageCount, totalBytes}]}',
  examples: ['snapshots alpha'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const target = input.args[0]!;
  const client = await ctx.admin();
  const res = await callUnary(client.listSnapshots.bind(client), { target });
  if (ctx.json) {
    printJson(ctx.stdout, { publishedSnapshotId: res.publishedSnapshotId, snapshots: res.snapshots.map(snapshotView) });
    return 0;
  }
  table(ctx.stdout, ['SNAPSHOT', 'BUILD', 'PACKAGES', 'SIZE', 'CREATED', 'BUILT FROM'], res.snapshots.map((s) => snapshotRow(s, res.publishedSnapshotId)));
  return 0;
}
