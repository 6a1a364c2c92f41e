import { callUnary } from '@binhost/shared';
import type { CommandInput, CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson, table } from '../output.js';
import { diskUsageView } from '../view.js';
import { formatBytes } from './build-format.js';

/** `binhostctl df [NAME]`: where the host's disk goes, per root. */
export const spec: CliCommand = {
  name: 'df',
  summary: 'disk use per root: PKGDIR, snapshots, build logs, and what gc would free',
  description:
    'Files hard-linked into both PKGDIR and snapshots count once, under PKGDIR. FREEABLE is what\n' +
    '"binhostctl gc" would remove now (old binpkg instances, snapshots past build.keep_snapshots,\n' +
    'build logs past retention.keep_builds); retention also runs after every publish.',
  args: [{ name: 'NAME', description: "a target: only its root (default: every root)", optional: true }],
  json: '{version, roots: [{root, targets, pkgdirBytes, snapshotsBytes, buildLogsBytes, reclaimableBytes, instances, removableInstances, snapshots, removableSnapshots, builds, removableBuilds}]}',
  examples: ['df', 'df alpha'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const client = await ctx.admin();
  const res = await callUnary(client.getDiskUsage.bind(client), { target: input.args[0] ?? '' });
  if (ctx.json) {
    printJson(ctx.stdout, { roots: res.roots.map(diskUsageView) });
    return 0;
  }
  const rows = res.roots.map((u) => [
    u.root,
    `${formatBytes(Number(u.pkgdirBytes))} (${u.instances})`,
    `${formatBytes(Number(u.snapshotsBytes))} (${u.snapshots})`,
    `${formatBytes(Number(u.buildLogsBytes))} (${u.builds})`,
    formatBytes(Number(u.reclaimableBytes)),
    u.targets.join(','),
  ]);
  table(ctx.stdout, ['ROOT', 'PKGDIR (INSTANCES)', 'SNAPSHOTS', 'BUILD LOGS', 'FREEABLE', 'TARGETS'], rows);
  return 0;
}
