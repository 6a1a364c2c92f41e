import { callUnary, FileChange, type DiffTargetResponse } from '@binhost/shared';
import type { CommandInput, CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson, shortDigest } from '../output.js';
import { diffView } from '../view.js';

const MARK: Record<number, string> = {
  [FileChange.FILE_CHANGE_ADDED]: 'A',
  [FileChange.FILE_CHANGE_REMOVED]: 'D',
  [FileChange.FILE_CHANGE_MODIFIED]: 'M',
};

/**
 * `binhostctl target diff NAME [FROM [TO]]`: what changed on a target between two states of its
 * history (default: the previous and the latest). FROM and TO are digests or unique prefixes of
 * their hex, as `target show` lists them.
 */
export const spec: CliCommand = {
  name: 'target diff',
  summary: 'what changed between two reported states: files (unified diffs), world, flags, profile',
  description: 'FROM and TO are digests of the history ("target show") or unique prefixes of their hex;\nthe default is the previous and the latest state.',
  args: [
    { name: 'NAME', description: 'the target' },
    { name: 'FROM', description: 'the older digest', optional: true },
    { name: 'TO', description: 'the newer digest', optional: true },
  ],
  json: '{version, name, fromDigest, toDigest, files: [{path, change: added|removed|modified, unifiedDiff}], worldAdded, worldRemoved, flagsAdded, flagsRemoved, cpuFlagsAdded, cpuFlagsRemoved, profileBefore, profileAfter}',
  examples: ['target diff alpha', 'target diff alpha 3f2a9c 8b01de'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const [name = '', from = '', to = ''] = input.args;
  const client = await ctx.admin();
  const res = await callUnary(client.diffTarget.bind(client), { name, fromDigest: from, toDigest: to });
  if (ctx.json) printJson(ctx.stdout, { name, ...diffView(res) });
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
