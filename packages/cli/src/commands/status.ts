import { parseArgs } from 'node:util';
import { callUnary, TargetSummary, installPolicyToJSON, InstallPolicy } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { printDamaged, printJson, shortDigest, table } from '../output.js';

/**
 * `binhostctl status [NAME...]`: per target, connected or not, the config digest it reported, the
 * digest its published snapshot was built from, the published and installed snapshots, and the
 * last error; a disconnected target with a queued sync says so. A target with damaged records
 * on the host is marked `damaged`, with one line per file under the table. `--json` prints the
 * TargetSummary messages.
 */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const client = await ctx.admin();
  const res = await callUnary(client.listTargets.bind(client), {});
  const targets = positionals.length ? res.targets.filter((t) => positionals.includes(t.name)) : res.targets;
  const unknown = positionals.filter((n) => !res.targets.some((t) => t.name === n));
  if (unknown.length) {
    ctx.stderr.write(`binhostctl: status: no target named ${unknown.map((n) => `"${n}"`).join(', ')}\n`);
    return 1;
  }
  if (ctx.json) {
    printJson(ctx.stdout, targets.map((t) => TargetSummary.toJSON(t)));
    return 0;
  }
  table(
    ctx.stdout,
    ['TARGET', 'STATE', 'CONFIG', 'BUILT', 'PUBLISHED', 'INSTALLED', 'POLICY', 'LAST ERROR'],
    targets.map((t) => [
      t.name,
      (t.connected ? 'connected' : t.queuedSyncRequestId ? `disconnected, sync${t.queuedSyncConfirmed ? ' --yes' : ''} queued` : 'disconnected') +
        (t.damaged.length ? ', damaged' : ''),
      shortDigest(t.configDigest),
      t.builtDigest ? shortDigest(t.builtDigest) + (t.builtDigest === t.configDigest ? '' : ' (stale)') : '-',
      t.publishedSnapshotId ? `#${t.publishedSnapshotId}` : '-',
      t.installedSnapshotId ? `#${t.installedSnapshotId}` : '-',
      t.installPolicy === InstallPolicy.INSTALL_POLICY_UNSPECIFIED ? '(target)' : installPolicyToJSON(t.installPolicy).replace('INSTALL_POLICY_', '').toLowerCase(),
      t.lastError || '-',
    ]),
  );
  printDamaged(ctx.stdout, targets);
  return 0;
}
