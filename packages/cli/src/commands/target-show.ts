import { parseArgs } from 'node:util';
import { callUnary, DigestRecord, FileKind, NativeFlags, TargetSummary, UsageError, type GetTargetResponse, type TargetState } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { ago, printJson } from '../output.js';

/**
 * `binhostctl target show NAME [--json]`: the target's latest reported state — digest, when it
 * was reported, profile, CHOST, compiler, the resolved `-march=native`, CPU_FLAGS_X86, world
 * size, warnings — and its digest history. File contents are left out (see `target diff`).
 */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  const [name, ...extra] = positionals;
  if (!name || extra.length) throw new UsageError('usage: binhostctl target show NAME [--json]');
  const client = await ctx.admin();
  const res = await callUnary(client.getTarget.bind(client), { name });
  if (ctx.json || values.json) printJson(ctx.stdout, toJson(res));
  else printText(ctx.stdout, name, res);
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

function toJson(res: GetTargetResponse): unknown {
  const s = res.state;
  return {
    summary: res.summary ? TargetSummary.toJSON(res.summary) : undefined,
    digest: s?.digest ?? '',
    lastReport: lastReport(res)?.toISOString() ?? null,
    collectedAt: s?.collectedAt?.toISOString() ?? null,
    hostname: s?.hostname ?? '',
    profile: s?.profile ?? '',
    chost: s?.chost ?? '',
    gccVersion: s?.gccVersion ?? '',
    kernelRelease: s?.kernelRelease ?? '',
    arch: s?.arch ?? '',
    nativeFlags: s?.nativeFlags ? NativeFlags.toJSON(s.nativeFlags) : null,
    cpuFlagsX86: s?.cpuFlagsX86 ?? [],
    world: worldSize(s),
    files: s?.files.filter((f) => f.kind !== FileKind.FILE_KIND_DIRECTORY).length ?? 0,
    warnings: s?.warnings ?? [],
    history: res.history.map((h) => DigestRecord.toJSON(h)),
  };
}

function printText(out: NodeJS.WritableStream, name: string, res: GetTargetResponse): void {
  const s = res.state;
  const row = (k: string, v: string) => out.write(`${k.padEnd(14)} ${v}\n`);
  row('target', `${name} (${res.summary?.connected ? 'connected' : 'disconnected'})`);
  for (const d of res.summary?.damaged ?? []) row('damaged', `${d.file}: ${d.problem}; ${d.remedy}`);
  if (!s) {
    row('state', 'none reported yet');
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
    row('  features', nf.featureFlags.join(' '));
    row('  params', nf.params.join(' ') || '-');
  } else {
    row('-march=native', `unknown: ${nf?.error || 'not reported'}`);
  }
  row('CPU_FLAGS_X86', s.cpuFlagsX86.join(' ') || '-');
  const w = worldSize(s);
  row('world', `${w.atoms} atoms, ${w.sets} sets`);
  row('files', String(s.files.filter((f) => f.kind !== FileKind.FILE_KIND_DIRECTORY).length));
  for (const warning of s.warnings) row('warning', warning);
  out.write('history (oldest first):\n');
  for (const h of res.history) out.write(`  ${h.digest}  ${h.reportedAt?.toISOString() ?? ''}\n`);
}
