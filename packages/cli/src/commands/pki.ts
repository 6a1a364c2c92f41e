import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import {
  createCa,
  DEFAULT_PATHS,
  describeCertificate,
  issueCertificate,
  pkiPaths,
  readCa,
  ROLES,
  UsageError,
  writeCertifiedKey,
  type Role,
} from '@binhost/shared';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';

const USAGE = `usage:
  binhostctl pki init [--dir DIR]
  binhostctl pki issue host NAME [--san DNS|IP]... [--days N] [--dir DIR]
  binhostctl pki issue target NAME [--days N] [--dir DIR]
  binhostctl pki issue admin NAME [--days N] [--dir DIR]
  binhostctl pki show FILE
DIR defaults to ${DEFAULT_PATHS.pkiDir}. Keys are written mode 0600 and never overwritten.`;

/** `binhostctl pki`: the project's own CA, and certificates that carry (role, name). */
export async function run(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      dir: { type: 'string', default: DEFAULT_PATHS.pkiDir },
      san: { type: 'string', multiple: true },
      days: { type: 'string' },
    },
  });
  const [verb, role, name] = positionals;
  const dir = values.dir;
  if (verb === 'init') {
    const ca = await createCa();
    await writeCertifiedKey(pkiPaths.caCert(dir), pkiPaths.caKey(dir), ca);
    report(ctx, { ca: pkiPaths.caCert(dir), key: pkiPaths.caKey(dir) });
    return 0;
  }
  if (verb === 'issue') {
    if (!role || !(ROLES as readonly string[]).includes(role) || !name) throw new UsageError(USAGE);
    const days = values.days === undefined ? undefined : Number(values.days);
    if (days !== undefined && !(Number.isInteger(days) && days > 0)) throw new UsageError(`--days: expected a positive integer, got "${values.days}"`);
    const pair = await issueCertificate({
      ca: await readCa(dir),
      role: role as Role,
      name,
      ...(values.san ? { sans: values.san } : {}),
      ...(days ? { validDays: days } : {}),
    });
    const cert = pkiPaths.cert(dir, role as Role, name);
    const key = pkiPaths.key(dir, role as Role, name);
    await writeCertifiedKey(cert, key, pair);
    report(ctx, { cert, key });
    return 0;
  }
  if (verb === 'show' && role) {
    const info = describeCertificate(await readFile(role, 'utf8'));
    if (ctx.json) printJson(ctx.stdout, info);
    else for (const [k, v] of Object.entries(info)) ctx.stdout.write(`${k}: ${v instanceof Date ? v.toISOString() : v ?? '-'}\n`);
    return 0;
  }
  throw new UsageError(USAGE);
}

function report(ctx: CommandContext, files: Record<string, string>): void {
  if (ctx.json) printJson(ctx.stdout, files);
  else for (const [k, v] of Object.entries(files)) ctx.stdout.write(`wrote ${k}: ${v}\n`);
}
