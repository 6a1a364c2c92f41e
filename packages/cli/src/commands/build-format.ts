import { BuildStatus, callServerStream, describeDistcc, emptyProgress, parseEmergeLine, UsageError, type Build, type PackageBuildStats, type Snapshot } from '@binhost/shared';
import { buildProgressLine, buildProgressStep, LiveLine } from './progress-bar.js';
import type { CommandContext } from '../context.js';
import { ago, printJsonLine, shortDigest } from '../output.js';
import { buildKindWord, buildStatusWord, buildView } from '../view.js';

/** "succeeded", "running", ... (the words of `--json` too). */
export const statusName = buildStatusWord;

/** "auto" / "manual" */
function kindName(build: Build): string {
  return buildKindWord(build.kind);
}

/** "compile app-misc/hello-1.0 (2 of 4)" while running, '' otherwise. */
function progressText(build: Build): string {
  if (build.status !== BuildStatus.BUILD_STATUS_RUNNING || !build.currentPackage) return '';
  return `${build.phase} ${build.currentPackage} (${build.packageIndex} of ${build.packageCount})`;
}

/** One table row per build; a build that ran with distcc adds where its compile jobs ran. */
export function buildRow(b: Build): string[] {
  const outcome = b.status === BuildStatus.BUILD_STATUS_RUNNING ? progressText(b) : b.error || (b.snapshotId ? `snapshot ${b.snapshotId}` : '');
  const detail = [outcome, b.distcc ? describeDistcc(b.distcc) : ''].filter(Boolean).join('; ');
  return [String(b.id), b.target, statusName(b.status), kindName(b), ago(b.startedAt ?? b.queuedAt), detail];
}

/** One table row per snapshot; `*` marks the published one. */
export function snapshotRow(s: Snapshot, publishedId: number): string[] {
  return [
    `${s.id === publishedId ? '*' : ' '}${s.id}`,
    String(s.buildId),
    String(s.packageCount),
    formatBytes(Number(s.totalBytes)),
    ago(s.createdAt),
    shortDigest(s.builtDigest),
  ];
}

/** One table row per package of a build: what it took (Portage's figures, or timed from the output). */
export function packageRow(p: PackageBuildStats): string[] {
  return [
    p.cpv,
    p.forRoot ? 'root' : 'build host',
    `${p.seconds.toFixed(1)} s`,
    p.cpuSeconds ? `${p.cpuSeconds.toFixed(1)} s` : '-',
    p.peakMemoryBytes ? formatBytes(Number(p.peakMemoryBytes)) : '-',
    p.source,
  ];
}

/** 1.5 MiB, 20.0 KiB, 512 B. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

/** A positive build or snapshot number from the command line. */
export function parseId(text: string | undefined, what: string): number {
  if (text === undefined) return 0;
  if (!/^[1-9]\d{0,9}$/.test(text)) throw new UsageError(`${what} must be a positive number, got "${text}"`);
  return Number(text);
}

/**
 * Prints a build's log (following it with `follow`) and returns the exit code: 0 when the
 * build succeeded, 1 when it ended otherwise, 0 when it is still running and not followed.
 * With `--json`, JSON Lines: `{"version":1,"event":"line","text":…}`, and `build` (the build
 * being followed) and `finished` events with the build.
 */
export async function printLog(ctx: CommandContext, target: string, buildId: number, follow: boolean): Promise<number> {
  const client = await ctx.admin();
  // A followed build runs as long as emerge does: no overall deadline, only the server's end.
  const stream = callServerStream(client.followBuildLog.bind(client), { target, buildId, follow }, follow ? {} : { deadlineMs: 600_000 });
  let finished: Build | undefined;
  const live = new LiveLine(ctx.stderr);
  const progress = emptyProgress();
  try {
    for await (const msg of stream) {
      const item = msg.item;
      if (ctx.json) {
        if (item?.$case === 'line') printJsonLine(ctx.stdout, 'line', { text: item.value });
        else if (item) printJsonLine(ctx.stdout, item.$case, { build: buildView(item.value) });
        if (item?.$case === 'finished') finished = item.value;
        continue;
      }
      live.clear();
      if (item?.$case === 'line') {
        ctx.stdout.write(item.value + '\n');
        if (follow && (parseEmergeLine(progress, item.value) || progress.packageCount)) live.draw(buildProgressLine(progress), buildProgressStep(progress));
      } else if (item?.$case === 'build' && follow) ctx.stderr.write(`following build ${item.value.id} of ${item.value.target} (${statusName(item.value.status)})\n`);
      else if (item?.$case === 'finished') finished = item.value;
    }
  } finally {
    live.close();
  }
  if (!finished) return 0;
  const ok = finished.status === BuildStatus.BUILD_STATUS_SUCCEEDED;
  if (ctx.json) return ok ? 0 : 1;
  const tail = finished.error ? `: ${finished.error}` : finished.snapshotId ? `, snapshot ${finished.snapshotId} published` : '';
  ctx.stderr.write(`build ${finished.id} ${statusName(finished.status)}${tail}\n`);
  if (finished.distcc) ctx.stderr.write(`${describeDistcc(finished.distcc)}\n`);
  return ok ? 0 : 1;
}
