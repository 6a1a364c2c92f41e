import { parseArgs } from 'node:util';
import { Build, callUnary, DigestRecord, UsageError } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { ago, printJson, shortDigest, table } from '../output.js';

/**
 * `binhostctl history NAME`: the config digests the target reported, oldest first, each with the
 * builds made from it and the snapshot they published — when the config changed, and what came of
 * each change. `binhostctl target diff NAME FROM TO` shows what a change was.
 */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const [name] = positionals;
  if (!name || positionals.length > 1) throw new UsageError('usage: binhostctl history NAME');
  const client = await ctx.admin();
  const target = await callUnary(client.getTarget.bind(client), { name });
  const { builds } = await callUnary(client.listBuilds.bind(client), { target: name, limit: 0 });
  const own = builds.filter((b) => b.target === name);
  if (ctx.json) {
    printJson(ctx.stdout, {
      history: target.history.map((h) => DigestRecord.toJSON(h)),
      builds: own.map((b) => Build.toJSON(b)),
    });
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
        made.map((b) => `#${b.id} ${statusWord(b)}`).join(', ') || '-',
        made.filter((b) => b.snapshotId).map((b) => `#${b.snapshotId}`).join(', ') || '-',
      ];
    }),
  );
  return 0;
}

function statusWord(b: Build): string {
  return ['unknown', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'][b.status] ?? 'unknown';
}
