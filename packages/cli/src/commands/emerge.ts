import {
  callServerStream,
  emptyProgress,
  parseEmergeLine,
  EmergeResponse,
  InstallOutcome,
  installOutcomeToJSON,
  UsageError,
} from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { buildProgressLine, LiveLine, progressLine } from './progress-bar.js';

/**
 * `binhostctl emerge NAME -- ARGS`, the guide's "keeping in sync" script: the host builds ARGS
 * for NAME, then the target installs the same ARGS. Both outputs stream live to stdout (build
 * lines prefixed `host|`, install lines `NAME|`); transfer progress is a bar on stderr when it
 * is a terminal. `--json` prints one EmergeResponse per line. Exit 0 only when installed.
 */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const split = args.indexOf('--');
  const [name, ...extra] = split < 0 ? args : args.slice(0, split);
  const emergeArgs = split < 0 ? [] : args.slice(split + 1);
  if (!name || extra.length || emergeArgs.length === 0) throw new UsageError('usage: binhostctl emerge NAME -- EMERGE ARGS');
  const client = await ctx.admin();
  const live = new LiveLine(ctx.stderr);
  const progress = emptyProgress();
  let outcome = InstallOutcome.INSTALL_OUTCOME_UNSPECIFIED;
  for await (const res of callServerStream(client.emerge.bind(client), { target: name, args: emergeArgs }, { idleTimeoutMs: 3600_000 })) {
    const item = res.item;
    if (!item) continue;
    if (ctx.json) {
      ctx.stdout.write(JSON.stringify(EmergeResponse.toJSON(res)) + '\n');
      if (item.$case === 'installFinished') outcome = item.value.outcome;
      continue;
    }
    if (item.$case === 'transfer') {
      live.draw(progressLine(item.value, 30));
      continue;
    }
    live.clear();
    switch (item.$case) {
      case 'buildStarted':
        ctx.stdout.write(`>>> build ${item.value.id} of ${name} started on the host\n`);
        break;
      case 'buildLogLine':
        ctx.stdout.write(`host| ${item.value}\n`);
        if (parseEmergeLine(progress, item.value) || progress.packageCount) live.draw(buildProgressLine(progress));
        break;
      case 'buildFinished':
        ctx.stdout.write(`>>> build ${item.value.id} finished (exit ${item.value.exitCode})\n`);
        break;
      case 'snapshotPublished':
        ctx.stdout.write(`>>> snapshot ${item.value.id} published (${item.value.packageCount} packages)\n`);
        break;
      case 'stage':
        ctx.stdout.write(`>>> ${name}: ${item.value}\n`);
        break;
      case 'plan':
        ctx.stdout.write(`>>> ${name}: plan of ${item.value.packages.length} package(s)${item.value.binaryOnly ? ', binary only' : ''}\n`);
        break;
      case 'installLogLine':
        ctx.stdout.write(`${name}| ${item.value}\n`);
        break;
      case 'installFinished':
        outcome = item.value.outcome;
        ctx.stdout.write(`>>> ${name}: ${installOutcomeToJSON(outcome).replace('INSTALL_OUTCOME_', '').toLowerCase()}${item.value.error ? `: ${item.value.error}` : ''}\n`);
        for (const f of item.value.differingFiles) ctx.stdout.write(`    differs: ${f}\n`);
        break;
    }
  }
  live.clear();
  return outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED || outcome === InstallOutcome.INSTALL_OUTCOME_UP_TO_DATE ? 0 : 1;
}
