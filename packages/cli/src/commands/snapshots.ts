import { callUnary, Snapshot, UsageError } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { printJson, table } from '../output.js';
import { snapshotRow } from './build-format.js';

/** `binhostctl snapshots NAME`: the kept snapshots of the target's root; `*` marks the published one. */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const [target, ...extra] = args;
  if (!target || extra.length) throw new UsageError('usage: binhostctl snapshots NAME');
  const client = await ctx.admin();
  const res = await callUnary(client.listSnapshots.bind(client), { target });
  if (ctx.json) {
    printJson(ctx.stdout, { publishedSnapshotId: res.publishedSnapshotId, snapshots: res.snapshots.map((s) => Snapshot.toJSON(s)) });
    return 0;
  }
  table(ctx.stdout, ['SNAPSHOT', 'BUILD', 'PACKAGES', 'SIZE', 'CREATED', 'BUILT FROM'], res.snapshots.map((s) => snapshotRow(s, res.publishedSnapshotId)));
  return 0;
}
