import type { CommandContext } from '../context.js';

/** `binhostctl target diff` (not built yet). */
export async function run(_args: string[], ctx: CommandContext): Promise<number> {
  ctx.stderr.write('binhostctl: target diff is not implemented yet\n');
  return 1;
}
