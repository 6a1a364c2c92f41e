import { parseArgs } from 'node:util';
import { callUnary, DiffTargetResponse, FileChange, UsageError } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { printJson, shortDigest } from '../output.js';

const MARK: Record<number, string> = {
  [FileChange.FILE_CHANGE_ADDED]: 'A',
  [FileChange.FILE_CHANGE_REMOVED]: 'D',
  [FileChange.FILE_CHANGE_MODIFIED]: 'M',
};

/**
 * `binhostctl target diff NAME [FROM [TO]] [--json]`: what changed on a target between two states
 * of its history (default: the previous and the latest). FROM and TO are digests or unique
 * prefixes of their hex, as `target show` lists them.
 */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  const [name, from = '', to = '', ...extra] = positionals;
  if (!name || extra.length) throw new UsageError('usage: binhostctl target diff NAME [FROM [TO]] [--json]');
  const client = await ctx.admin();
  const res = await callUnary(client.diffTarget.bind(client), { name, fromDigest: from, toDigest: to });
  if (ctx.json || values.json) printJson(ctx.stdout, DiffTargetResponse.toJSON(res));
  else printText(ctx.stdout, name, res);
  return 0;
}

function printText(out: NodeJS.WritableStream, name: string, res: DiffTargetResponse): void {
  out.write(`${name}: ${res.fromDigest ? shortDigest(res.fromDigest) : '(nothing)'} → ${shortDigest(res.toDigest)}\n`);
  if (res.profileBefore !== res.profileAfter) out.write(`profile: ${res.profileBefore || '-'} → ${res.profileAfter || '-'}\n`);
  const list = (label: string, added: string[], removed: string[]) => {
    if (added.length || removed.length) out.write(`${label}: ${[...added.map((a) => `+${a}`), ...removed.map((r) => `-${r}`)].join(' ')}\n`);
  };
  list('world', res.worldAdded, res.worldRemoved);
  list('flags', res.flagsAdded, res.flagsRemoved);
  list('CPU_FLAGS_X86', res.cpuFlagsAdded, res.cpuFlagsRemoved);
  if (res.files.length === 0) {
    out.write('files: no changes\n');
    return;
  }
  out.write('files:\n');
  for (const f of res.files) out.write(`  ${MARK[f.change] ?? '?'} ${f.path}\n`);
  for (const f of res.files) if (f.unifiedDiff) out.write(`\n${f.unifiedDiff.startsWith('---') ? '' : `${f.path}: `}${f.unifiedDiff}`);
}
