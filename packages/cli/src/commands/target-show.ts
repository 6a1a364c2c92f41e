import { callUnary, FileKind, InstallOutcome, type GetTargetResponse, type InstallResult, type TargetState } from '@binhost/shared';
import type { CommandInput, CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { ago, printJson } from '../output.js';
import { digestView, installView, marchView, nativeFlagsView, outcomeWord, targetView } from '../view.js';
import { adminFlags } from './march-view.js';

/**
 * `binhostctl target show NAME`: the target's latest reported state — digest, when it was
 * reported, profile, CHOST, compiler, the resolved `-march=native`, CPU_FLAGS_X86, world size,
 * warnings — and its digest history. File contents are left out (see `target diff`).
 */
export const spec: CliCommand = {
  name: 'target show',
  summary: "the target's latest reported state: digest, profile, CHOST, -march=native, CPU_FLAGS_X86, history",
  args: [{ name: 'NAME', description: 'the target' }],
  json: '{version, name, target, state: {digest, lastReport, collectedAt, hostname, profile, chost, gccVersion, kernelRelease, arch, nativeFlags, cpuFlagsX86, world: {atoms, sets}, files, warnings} | null, lastInstall, march: {flags, march, mtune, differingFlags, impliedCount, compiler, error} | null, history: [{digest, reportedAt}]}',
  examples: ['target show alpha', 'target show alpha --json'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const name = input.args[0]!;
  const client = await ctx.admin();
  const res = await callUnary(client.getTarget.bind(client), { name });
  if (ctx.json) printJson(ctx.stdout, toJson(name, res));
  else printText(ctx.stdout, name, res, ctx.verbose);
  return 0;
}

/** Atoms and sets in world and world_sets. */
function worldSize(state: TargetState | undefined): { atoms: number; sets: number } {
  const count = (path: string) => {
    const f = state?.files.find((e) => e.path === path && e.kind === FileKind.FILE_KIND_REGULAR);
    return f ? f.content.toString('utf8').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')).length : 0;
  };
  return { atoms: count('var/lib/portage/world'), sets: count('var/lib/portage/world_sets') };
}

function lastReport(res: GetTargetResponse): Date | undefined {
  return res.history[res.history.length - 1]?.reportedAt;
}

function toJson(name: string, res: GetTargetResponse): Record<string, unknown> {
  const s = res.state;
  return {
    name,
    target: res.summary ? targetView(res.summary) : null,
    state: s
      ? {
          digest: s.digest,
          lastReport: lastReport(res)?.toISOString() ?? null,
          collectedAt: s.collectedAt?.toISOString() ?? null,
          hostname: s.hostname,
          profile: s.profile,
          chost: s.chost,
          gccVersion: s.gccVersion,
          kernelRelease: s.kernelRelease,
          arch: s.arch,
          nativeFlags: nativeFlagsView(s.nativeFlags),
          cpuFlagsX86: [...s.cpuFlagsX86],
          world: worldSize(s),
          files: s.files.filter((f) => f.kind !== FileKind.FILE_KIND_DIRECTORY).length,
          warnings: [...s.warnings],
        }
      : null,
    lastInstall: res.lastInstall ? installView(res.lastInstall) : null,
    march: res.march ? marchView(res.march) : null,
    history: res.history.map(digestView),
  };
}

function printText(out: NodeJS.WritableStream, name: string, res: GetTargetResponse, verbose: boolean): void {
  const s = res.state;
  const row = (k: string, v: string) => out.write(`${k.padEnd(14)} ${v}\n`);
  row('target', `${name} (${res.summary?.connected ? 'connected' : 'disconnected'})`);
  for (const d of res.summary?.damaged ?? []) row('damaged', `${d.file}: ${d.problem}; ${d.remedy}`);
  if (!s) {
    row('state', 'none reported yet');
    printLastInstall(out, name, res.lastInstall);
    return;
  }
  const when = lastReport(res);
  row('digest', s.digest);
  row('last report', when ? `${when.toISOString()} (${ago(when)})` : 'never');
  row('hostname', s.hostname || '-');
  row('profile', s.profile || '-');
  row('chost', s.chost || '-');
  row('gcc', s.gccVersion || '-');
  row('kernel', `${s.kernelRelease || '-'} (${s.arch || '?'})`);
  const nf = s.nativeFlags;
  if (nf?.known) {
    row('-march=native', `-march=${nf.march} -mtune=${nf.mtune}  (${nf.compiler})`);
    const m = res.march;
    if (m && !verbose) {
      row('  as written', adminFlags(m));
      row('  features', `${nf.featureFlags.length} (${m.impliedCount} implied by -march=${m.march} on the host's ${m.compiler}; --verbose lists them)`);
    } else {
      row('  features', nf.featureFlags.join(' '));
      row('  params', nf.params.join(' ') || '-');
    }
  } else {
    row('-march=native', `unknown: ${nf?.error || 'not reported'}`);
  }
  row('CPU_FLAGS_X86', s.cpuFlagsX86.join(' ') || '-');
  const w = worldSize(s);
  row('world', `${w.atoms} atoms, ${w.sets} sets`);
  row('files', String(s.files.filter((f) => f.kind !== FileKind.FILE_KIND_DIRECTORY).length));
  for (const warning of s.warnings) row('warning', warning);
  printLastInstall(out, name, res.lastInstall);
  out.write('history (oldest first):\n');
  for (const h of res.history) out.write(`  ${h.digest}  ${h.reportedAt?.toISOString() ?? ''}\n`);
}

/** The target's last install report; a plan awaiting confirmation with its packages and the command that confirms it. */
function printLastInstall(out: NodeJS.WritableStream, name: string, r: InstallResult | undefined): void {
  const row = (k: string, v: string) => out.write(`  ${k.padEnd(12)} ${v}\n`);
  out.write('last install:\n');
  if (!r) {
    row('outcome', 'none reported yet');
    return;
  }
  row('outcome', outcomeWord(r.outcome));
  row('snapshot', r.snapshotId ? `#${r.snapshotId}` : '-');
  row('when', r.finishedAt ? `${r.finishedAt.toISOString()} (${ago(r.finishedAt)})` : '-');
  if (r.error) row('error', r.error);
  for (const f of r.differingFiles) row('differs', f);
  if (r.outcome !== InstallOutcome.INSTALL_OUTCOME_AWAITING_CONFIRMATION) return;
  const packages = r.plan?.packages ?? [];
  row('plan', `${packages.length} package(s)${r.plan?.binaryOnly ? ', binary only' : ''}`);
  for (const p of packages) out.write(`    ${p.line || `[${p.kind}${p.flags ? ` ${p.flags}` : ''}] ${p.cpv}`}\n`);
  for (const p of r.plan?.problems ?? []) row('problem', p);
  row('confirm', `binhostctl sync ${name} --yes`);
}
