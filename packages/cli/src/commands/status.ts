import { callUnary, type TargetSummary } from '@binhost/shared';
import type { CommandInput, CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printDamaged, printJson, shortDigest, table, truncate } from '../output.js';
import { policyWord, targetView } from '../view.js';

/** Characters of a last error shown in the table; `--verbose` and `--json` give it whole. */
const LAST_ERROR_WIDTH = 60;

/**
 * `binhostctl status [NAME...]`: per target, connected or not, the config digest it reported, the
 * digest its published snapshot was built from, the published and installed snapshots, and the
 * last error; a disconnected target with a queued sync says so. A target with damaged records
 * on the host is marked `damaged`, with one line per file under the table.
 */
export const spec: CliCommand = {
  name: 'status',
  summary: 'per target: connected, digests, published/installed snapshot, policy, last error',
  description:
    'BUILT is the config digest the published snapshot was built from, "(stale)" when the target\n' +
    'has reported another config since. LAST ERROR is shortened to fit; --verbose prints each\n' +
    'whole under the table. A plan waiting for confirmation (install policy confirm) shows as\n' +
    '"#4 (#5 to confirm)" under INSTALLED, with the command that confirms it under the table.',
  args: [{ name: 'NAME', description: 'only these targets', variadic: true }],
  json: '{version, targets: [{name, connected, hostname, lastSeen, configDigest, builtDigest, stale, publishedSnapshotId, installedSnapshotId, installPolicy, lastBuildStatus, lastError, root, sharesRootWith, queuedSync, damaged, repoSkew, awaitingConfirmation: {snapshotId, packages} | null}]}',
  examples: ['status', 'status alpha --verbose', 'status --json'],
  run,
};

function stateWord(t: TargetSummary): string {
  const base = t.connected ? 'connected' : t.queuedSyncRequestId ? `disconnected, sync${t.queuedSyncConfirmed ? ' --yes' : ''} queued` : 'disconnected';
  return base + (t.damaged.length ? ', damaged' : '');
}

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const names = input.args;
  const client = await ctx.admin();
  const res = await callUnary(client.listTargets.bind(client), {});
  const targets = names.length ? res.targets.filter((t) => names.includes(t.name)) : res.targets;
  const unknown = names.filter((n) => !res.targets.some((t) => t.name === n));
  if (unknown.length) {
    ctx.stderr.write(`binhostctl: status: no target named ${unknown.map((n) => `"${n}"`).join(', ')}\n`);
    return 1;
  }
  if (ctx.json) {
    printJson(ctx.stdout, { targets: targets.map(targetView) });
    return 0;
  }
  table(
    ctx.stdout,
    ['TARGET', 'STATE', 'CONFIG', 'BUILT', 'PUBLISHED', 'INSTALLED', 'POLICY', 'LAST ERROR'],
    targets.map((t) => [
      t.name,
      stateWord(t),
      shortDigest(t.configDigest),
      t.builtDigest ? shortDigest(t.builtDigest) + (t.builtDigest === t.configDigest ? '' : ' (stale)') : '-',
      t.publishedSnapshotId ? `#${t.publishedSnapshotId}` : '-',
      (t.installedSnapshotId ? `#${t.installedSnapshotId}` : '-') + (t.awaitingConfirmationSnapshotId ? ` (#${t.awaitingConfirmationSnapshotId} to confirm)` : ''),
      policyWord(t.installPolicy),
      t.lastError ? truncate(t.lastError, LAST_ERROR_WIDTH) : '-',
    ]),
  );
  printDamaged(ctx.stdout, targets);
  // the ebuild trees of host and target, when they differ (README "Repository revisions")
  for (const t of targets.filter((x) => x.repoSkew)) ctx.stdout.write(`${t.name}: ${t.repoSkew}\n`);
  // the confirm policy: a plan the target made and waits on (target show NAME lists its packages)
  for (const t of targets.filter((x) => x.awaitingConfirmationSnapshotId)) {
    ctx.stdout.write(
      `${t.name}: install of snapshot #${t.awaitingConfirmationSnapshotId} awaits confirmation (${t.awaitingConfirmationPackages} package(s); "binhostctl target show ${t.name}" lists them): binhostctl sync ${t.name} --yes\n`,
    );
  }
  const cut = targets.filter((t) => truncate(t.lastError, LAST_ERROR_WIDTH) !== t.lastError);
  if (ctx.verbose) for (const t of targets.filter((x) => x.lastError)) ctx.stdout.write(`${t.name}: last error: ${t.lastError}\n`);
  else if (cut.length) ctx.stdout.write('(last errors shortened; --verbose prints them whole)\n');
  return 0;
}
