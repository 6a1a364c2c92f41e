import type { CommandContext } from '../context.js';

/** `binhostctl target show` (not built yet). */
export async function run(_args: string[], ctx: CommandContext): Promise<number> {
  ctx.stderr.write('binhostctl: target show is not implemented yet\n');
  return 1;
}
