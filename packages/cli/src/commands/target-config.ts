import { parseArgs } from 'node:util';
import { AppliedConfig, callUnary, UsageError, type ConfigRewrite } from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { printJson, shortDigest } from '../output.js';

const USAGE = 'usage: binhostctl target config NAME';

/** One rewrite as a line: `make.conf: CFLAGS: "-march=native" -> "-march=znver3 ..." (why)`. */
export function describeRewrite(r: ConfigRewrite): string {
  const what = r.key ? `${r.file}: ${r.key}` : r.file;
  const change = r.after === '' ? `removed ${JSON.stringify(r.before)}` : `${JSON.stringify(r.before)} -> ${JSON.stringify(r.after)}`;
  return `${what}: ${change} (${r.reason})`;
}

/**
 * `binhostctl target config NAME`: the make.conf applied in the target's root, where the host's
 * rewrites stand as `# binhost: was …` / `# binhost: removed …` lines above what replaced them,
 * then the list of rewrites and warnings. `--json` prints the AppliedConfig.
 */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0) throw new UsageError(USAGE);
  const client = await ctx.admin();
  const res = await callUnary(client.getTarget.bind(client), { name });
  const applied = res.applied;
  if (ctx.json) {
    printJson(ctx.stdout, applied ? AppliedConfig.toJSON(applied) : null);
    return applied ? 0 : 1;
  }
  if (!applied) {
    ctx.stderr.write(`binhostctl: target ${name} has no applied config yet (no root, or no state reported)\n`);
    return 1;
  }
  const out = ctx.stdout;
  out.write(`# root ${applied.root}, config ${shortDigest(applied.digest)}, applied ${applied.appliedAt?.toISOString() ?? '?'}\n`);
  out.write(applied.makeConf.endsWith('\n') || applied.makeConf === '' ? applied.makeConf : `${applied.makeConf}\n`);
  out.write(`\n# ${applied.rewrites.length} rewrite(s)\n`);
  for (const r of applied.rewrites) out.write(`#   ${describeRewrite(r)}\n`);
  if (applied.warnings.length > 0) {
    out.write(`# ${applied.warnings.length} warning(s)\n`);
    for (const w of applied.warnings) out.write(`#   ${w}\n`);
  }
  return 0;
}
