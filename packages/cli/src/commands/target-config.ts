import { callUnary, type ConfigRewrite } from '@binhost/shared';
import type { CommandInput, CommandSpec } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson, shortDigest } from '../output.js';
import { appliedView } from '../view.js';

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
export const spec: CommandSpec = {
  name: 'target config',
  summary: "the make.conf applied in the target's root, the host's rewrites and warnings",
  args: [{ name: 'NAME', description: 'the target' }],
  json: '{version, name, applied: {root, digest, appliedAt, makeConf, rewrites: [{file, key, before, after, reason}], warnings} | null}',
  examples: ['target config alpha', 'target config alpha --verbose'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const name = input.args[0]!;
  const client = await ctx.admin();
  const res = await callUnary(client.getTarget.bind(client), { name });
  const applied = res.applied;
  if (ctx.json) {
    printJson(ctx.stdout, { name, applied: applied ? appliedView(applied) : null });
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
