import { callUnary, type ConfigRewrite } from '@binhost/shared';
import type { CommandInput, CliCommand } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson, shortDigest } from '../output.js';
import { appliedView, marchView } from '../view.js';
import { compactFlags } from './march-view.js';

/**
 * One rewrite as a line: `make.conf: CFLAGS: "-march=native" -> "-march=znver3 ..." (why)`; a
 * file the host left out of the root (no key, nothing after): `etc/portage/binrepos.conf: left out (why)`.
 */
export function describeRewrite(r: ConfigRewrite, show: (value: string) => string = (v) => v): string {
  if (!r.key && r.after === '') return `${r.file}: left out of the root (${r.reason})`;
  const what = r.key ? `${r.file}: ${r.key}` : r.file;
  const change = r.after === '' ? `removed ${JSON.stringify(show(r.before))}` : `${JSON.stringify(show(r.before))} -> ${JSON.stringify(show(r.after))}`;
  return `${what}: ${change} (${r.reason})`;
}

/**
 * `binhostctl target config NAME`: the make.conf applied in the target's root, where the host's
 * rewrites stand as `# binhost: was …` / `# binhost: removed …` lines above what replaced them,
 * then the list of rewrites and warnings. `--json` prints the AppliedConfig.
 */
export const spec: CliCommand = {
  name: 'target config',
  summary: "the make.conf applied in the target's root, the host's rewrites and warnings",
  args: [{ name: 'NAME', description: 'the target' }],
  description:
    "The target's resolved -march=native is shown as an admin would write it: -march=X and only\n" +
    "the flags the host's compiler does not imply for -march=X. --verbose shows make.conf as\n" +
    'written into the root, with every -m flag and --param.',
  json: '{version, name, applied: {root, digest, appliedAt, makeConf, rewrites: [{file, key, before, after, reason}], warnings} | null, march: {flags, march, mtune, differingFlags, impliedCount, compiler, error} | null} (makeConf and rewrites as written, in full)',
  examples: ['target config alpha', 'target config alpha --verbose'],
  run,
};

async function run(input: CommandInput, ctx: CommandContext): Promise<number> {
  const name = input.args[0]!;
  const client = await ctx.admin();
  const res = await callUnary(client.getTarget.bind(client), { name });
  const applied = res.applied;
  if (ctx.json) {
    printJson(ctx.stdout, { name, applied: applied ? appliedView(applied) : null, march: res.march ? marchView(res.march) : null });
    return applied ? 0 : 1;
  }
  if (!applied) {
    ctx.stderr.write(`binhostctl: target ${name} has no applied config yet (no root, or no state reported)\n`);
    return 1;
  }
  const out = ctx.stdout;
  const m = res.march;
  const nf = res.state?.nativeFlags;
  const show = m && nf && !ctx.verbose ? (text: string) => compactFlags(text, m, nf) : (text: string) => text;
  out.write(`# root ${applied.root}, config ${shortDigest(applied.digest)}, applied ${applied.appliedAt?.toISOString() ?? '?'}\n`);
  if (m && nf && !ctx.verbose) {
    out.write(
      `# -march=${m.march} stands for the target's whole -march=native: the ${m.impliedCount} -m flags that ${m.compiler} implies\n` +
        `# for -march=${m.march}${nf.params.length ? ` and ${nf.params.length} --param values` : ''} are not shown (--verbose shows make.conf as written)\n`,
    );
    if (m.error) out.write(`# ${m.error}\n`);
  }
  const makeConf = show(applied.makeConf);
  out.write(makeConf.endsWith('\n') || makeConf === '' ? makeConf : `${makeConf}\n`);
  out.write(`\n# ${applied.rewrites.length} rewrite(s)\n`);
  for (const r of applied.rewrites) out.write(`#   ${describeRewrite(r, show)}\n`);
  if (applied.warnings.length > 0) {
    out.write(`# ${applied.warnings.length} warning(s)\n`);
    for (const w of applied.warnings) out.write(`#   ${w}\n`);
  }
  return 0;
}
