import { callServerStream, emptyProgress, parseEmergeLine, InstallOutcome, type EmergeResponse } from '@binhost/shared';
import { optFlag, type CommandInput, type CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJsonLine } from '../output.js';
import { buildView, installView, outcomeWord, planView, snapshotView, transferView } from '../view.js';
import { buildProgressLine, buildProgressStep, LiveLine, progressLine, transferStepLine } from './progress-bar.js';

/**
 * Whether emerge ARGS already say what to do with the world file: Portage's `--oneshot`/`-1`,
 * `--select[=y|n]`/`-w`, `--noreplace` is unrelated. Short options may be clustered (`-1av`).
 */
function selectsOrOneshot(args: readonly string[]): boolean {
  return args.some((a) => /^--(oneshot|select)(=.*)?$/.test(a) || /^-[a-zA-Z0-9]*[1w][a-zA-Z0-9]*$/.test(a));
}

/**
 * The emerge arguments sent to the host: `--oneshot` first unless the admin chose otherwise, so
 * an atom installed this way is not added to the target's world file (which would change its
 * config and start another automatic build), as `emerge --oneshot` would not.
 */
function emergeArgs(rest: readonly string[], select: boolean): string[] {
  if (select) return selectsOrOneshot(rest) ? [...rest] : ['--select', ...rest];
  return selectsOrOneshot(rest) ? [...rest] : ['--oneshot', ...rest];
}

/**
 * `binhostctl emerge NAME -- ARGS`, the guide's "keeping in sync" script: the host builds ARGS
 * for NAME, then the target installs the same ARGS. Both outputs stream live to stdout (build
 * lines prefixed `host|`, install lines `NAME|`); progress goes to stderr: a line redrawn in
 * place on a terminal, a plain line per build phase and per mirrored file elsewhere.
 */
export const spec: CliCommand = {
  name: 'emerge',
  summary: 'build ARGS on the host for NAME, then install them on NAME (like emerge --oneshot)',
  description:
    'NAME must be connected: otherwise the host refuses before building (exit 1). Like "emerge --oneshot", the atoms are not added to the world file\n' +
    '(on the host root nor on NAME) unless --select is given here or in ARGS (Portage\'s --select,\n' +
    '-w); ARGS with --oneshot/-1 or --select=n are passed as they are. Host lines are prefixed\n' +
    '"host|", target lines "NAME|". Exit 0 only when installed or already up to date.',
  args: [{ name: 'NAME', description: 'the target' }],
  options: [{ flags: '-w, --select', description: "add the atoms to NAME's world file (emerge's default without --oneshot)" }],
  passthrough: { name: 'EMERGE_ARGS', description: 'atoms and emerge options', required: true },
  json: 'JSON Lines, one event each: buildStarted|buildFinished {build}, buildLogLine|installLogLine {text}, snapshotPublished {snapshot}, stage {text}, plan {plan}, transfer {progress}, installFinished {result}',
  examples: ['emerge alpha -- app-editors/vim', 'emerge alpha --select -- app-misc/tmux', 'emerge alpha -- --update --deep @world'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const name = input.args[0]!;
  const args = emergeArgs(input.rest, optFlag(input, 'select'));
  const client = await ctx.admin();
  const live = new LiveLine(ctx.stderr);
  const progress = emptyProgress();
  let outcome = InstallOutcome.INSTALL_OUTCOME_UNSPECIFIED;
  try {
    for await (const res of callServerStream(client.emerge.bind(client), { target: name, args }, { idleTimeoutMs: 3600_000 })) {
      const item = res.item;
      if (!item) continue;
      if (item.$case === 'installFinished') outcome = item.value.outcome;
      if (ctx.json) printEvent(ctx, item);
      else printText(ctx, name, item, live, progress);
    }
  } finally {
    live.close();
  }
  return outcome === InstallOutcome.INSTALL_OUTCOME_INSTALLED || outcome === InstallOutcome.INSTALL_OUTCOME_UP_TO_DATE ? 0 : 1;
}

type Item = NonNullable<EmergeResponse['item']>;

/** One JSON line per event, made by the view layer. */
function printEvent(ctx: CommandContext, item: Item): void {
  switch (item.$case) {
    case 'buildStarted':
    case 'buildFinished':
      return printJsonLine(ctx.stdout, item.$case, { build: buildView(item.value) });
    case 'buildLogLine':
    case 'installLogLine':
    case 'stage':
      return printJsonLine(ctx.stdout, item.$case, { text: item.value });
    case 'snapshotPublished':
      return printJsonLine(ctx.stdout, item.$case, { snapshot: snapshotView(item.value) });
    case 'plan':
      return printJsonLine(ctx.stdout, item.$case, { plan: planView(item.value) });
    case 'transfer':
      return printJsonLine(ctx.stdout, item.$case, { progress: transferView(item.value) });
    case 'installFinished':
      return printJsonLine(ctx.stdout, item.$case, { result: installView(item.value) });
  }
}

function printText(ctx: CommandContext, name: string, item: Item, live: LiveLine, progress: ReturnType<typeof emptyProgress>): void {
  if (item.$case === 'transfer') {
    // Off a terminal: a line each time a file is complete.
    live.draw(progressLine(item.value), item.value.filesDone > 0 ? `${name}: ${transferStepLine(item.value)}` : undefined);
    return;
  }
  live.clear();
  const out = ctx.stdout;
  switch (item.$case) {
    case 'buildStarted':
      out.write(`>>> build ${item.value.id} of ${name} started on the host: emerge ${item.value.args.join(' ')}\n`);
      break;
    case 'buildLogLine':
      out.write(`host| ${item.value}\n`);
      if (parseEmergeLine(progress, item.value) || progress.packageCount) live.draw(buildProgressLine(progress), `host: ${buildProgressStep(progress)}`);
      break;
    case 'buildFinished':
      out.write(`>>> build ${item.value.id} finished (exit ${item.value.exitCode})${item.value.error ? `: ${item.value.error}` : ''}\n`);
      break;
    case 'snapshotPublished':
      out.write(`>>> snapshot ${item.value.id} published (${item.value.packageCount} packages)\n`);
      break;
    case 'stage':
      out.write(`>>> ${name}: ${item.value}\n`);
      break;
    case 'plan':
      out.write(`>>> ${name}: plan of ${item.value.packages.length} package(s)${item.value.binaryOnly ? ', binary only' : ''}\n`);
      break;
    case 'installLogLine':
      out.write(`${name}| ${item.value}\n`);
      break;
    case 'installFinished':
      out.write(`>>> ${name}: ${outcomeWord(item.value.outcome)}${item.value.error ? `: ${item.value.error}` : ''}\n`);
      for (const f of item.value.differingFiles) out.write(`    differs: ${f}\n`);
      break;
  }
}
