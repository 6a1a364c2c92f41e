import { callUnary } from '@binhost/shared';
import { optFlag, type CommandInput, type CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { garbageView } from '../view.js';
import { formatBytes } from './build-format.js';

/** `binhostctl gc [NAME] [--dry-run]`: retention now. */
export const spec: CliCommand = {
  name: 'gc',
  summary: 'remove old binpkg instances, snapshots and build logs now (it also runs after every publish)',
  description:
    'Keeps the instances a kept snapshot names (build.keep_snapshots newest, and every snapshot a\n' +
    'target is served or has installed) and the newest instance of each package per USE (what\n' +
    '--usepkg needs); the index is then rewritten by Portage (emaint binhost --fix). A root with\n' +
    'a running build is skipped.',
  args: [{ name: 'NAME', description: "a target: only its root (default: every root)", optional: true }],
  options: [{ flags: '-n, --dry-run', description: 'say what would be removed, remove nothing' }],
  json: '{version, dryRun, roots: [{root, freedBytes, removedInstances, removedSnapshots, removedBuilds, skipped}]}',
  examples: ['gc --dry-run', 'gc alpha'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const dryRun = optFlag(input, 'dryRun');
  const client = await ctx.admin();
  const res = await callUnary(client.collectGarbage.bind(client), { target: input.args[0] ?? '', dryRun });
  if (ctx.json) {
    printJson(ctx.stdout, { dryRun: res.dryRun, roots: res.roots.map(garbageView) });
    return 0;
  }
  const verb = dryRun ? 'would free' : 'freed';
  for (const r of res.roots) {
    if (r.skipped) {
      ctx.stdout.write(`${r.root}: skipped: ${r.skipped}\n`);
      continue;
    }
    const parts = [`${r.removedInstances.length} binpkg instance(s)`, `${r.removedSnapshots.length} snapshot(s)`, `${r.removedBuilds.length} build log(s)`];
    ctx.stdout.write(`${r.root}: ${verb} ${formatBytes(Number(r.freedBytes))}: ${parts.join(', ')}\n`);
    if (ctx.verbose) for (const p of r.removedInstances) ctx.stdout.write(`  ${p}\n`);
  }
  return 0;
}
