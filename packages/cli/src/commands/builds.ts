import { callUnary, NotFoundError, UsageError } from '@binhost/shared';
import { optString, type CommandInput, type CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson, table, truncate } from '../output.js';
import { buildView } from '../view.js';
import { buildRow, packageRow, parseId } from './build-format.js';

/**
 * `binhostctl builds [NAME [BUILD]] [--limit N]`: build history, newest first, with live progress;
 * with BUILD, that build and what each of its packages took.
 */
export const spec: CliCommand = {
  name: 'builds',
  summary: 'build history, newest first, with the progress of running builds; with BUILD, its packages',
  args: [
    { name: 'NAME', description: 'only the builds of this target', optional: true },
    { name: 'BUILD', description: "one build: its packages' build time, CPU time and peak memory (FEATURES=cgroup)", optional: true },
  ],
  options: [{ flags: '--limit <N>', description: 'at most N builds', default: '20' }],
  json: '{version, builds: [{id, target, root, kind: auto|manual, status: queued|running|succeeded|failed|cancelled|interrupted, args, configDigest, queuedAt, startedAt, finishedAt, exitCode, error, logTail, snapshotId, progress: {currentPackage, packageIndex, packageCount, phase}, packages: [{cpv, forRoot, seconds, cpuSeconds, peakMemoryBytes, source: observability|output}], distcc: {hosts, makeJobs, pump, helpers: [{host, jobs}], localJobs, fallbackJobs, problems: [{host, reason, count}]} | null}]}',
  examples: ['builds', 'builds alpha --limit 5', 'builds alpha 12'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const text = optString(input, 'limit') ?? '20';
  const limit = Number(text);
  if (!/^[1-9]\d{0,5}$/.test(text)) throw new UsageError(`--limit must be a positive number, got "${text}"`);
  const client = await ctx.admin();
  const id = parseId(input.args[1], 'BUILD');
  const res = await callUnary(client.listBuilds.bind(client), { target: input.args[0] ?? '', limit: id ? 0 : limit });
  if (id) {
    const build = res.builds.find((b) => b.id === id);
    if (!build) throw new NotFoundError(`${input.args[0]} has no build ${id}`);
    if (ctx.json) printJson(ctx.stdout, { builds: [buildView(build)] });
    else {
      table(ctx.stdout, ['BUILD', 'TARGET', 'STATUS', 'KIND', 'STARTED', 'DETAIL'], [buildRow(build)]);
      ctx.stdout.write('\n');
      table(ctx.stdout, ['PACKAGE', 'FOR', 'TIME', 'CPU', 'PEAK MEMORY', 'FROM'], build.packages.map(packageRow));
    }
    return 0;
  }
  if (ctx.json) {
    printJson(ctx.stdout, { builds: res.builds.map(buildView) });
    return 0;
  }
  // A failed build's error can be thousands of characters (a whole emerge command line): the list
  // shows its start; `builds NAME BUILD` and --json have all of it.
  const rows = res.builds.map(buildRow);
  const cut = rows.some((r) => r[5]!.length > DETAIL_MAX || r[5]!.includes('\n'));
  table(ctx.stdout, ['BUILD', 'TARGET', 'STATUS', 'KIND', 'STARTED', 'DETAIL'], rows.map((r) => [...r.slice(0, 5), truncate(r[5]!, DETAIL_MAX)]));
  if (cut) ctx.stdout.write(`(DETAIL shortened; "binhostctl builds NAME BUILD" shows all of it)\n`);
  return 0;
}

/** The most characters of the DETAIL column in the list of builds. */
const DETAIL_MAX = 100;
