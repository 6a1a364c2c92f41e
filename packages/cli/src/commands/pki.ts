import { readFile } from 'node:fs/promises';
import {
  AgentError,
  createCa,
  errnoCode,
  errorMessage,
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
import { optString, type CommandInput, type CliCommand, type OptionSpec } from '../command-spec.js';
import type { CommandContext } from '../context.js';
import { printJson } from '../output.js';
import { readUserFile } from '../file-errors.js';

const DIR: OptionSpec = { flags: '--dir <DIR>', description: 'the PKI directory', default: DEFAULT_PATHS.pkiDir, file: true };
const DAYS: OptionSpec = { flags: '--days <N>', description: 'validity in days (default: 825, about 27 months, for every role)' };

/** `binhostctl pki …`: the project's own CA, and certificates that carry (role, name). */
export const specs: readonly CliCommand[] = [
  {
    name: 'pki init',
    summary: 'create the CA (ca.pem, ca.key) in DIR',
    description:
      'The CA certificate is valid for 3650 days (10 years). Keys are written mode 0600 and never\n' +
      'overwritten; a new DIR is created mode 0700. Keep ca.key off the host.',
    options: [DIR],
    json: '{version, files: {ca, key}}',
    examples: ['pki init --dir /etc/binhost/pki'],
    run: init,
  },
  {
    name: 'pki issue',
    summary: 'issue a host, target or admin certificate signed by the CA',
    description:
      'The subject carries the identity: O=binhost-agents, OU=ROLE, CN=NAME. Host certificates get\n' +
      'serverAuth and the DNS/IP names of --san (the names targets and binhostctl dial); target and\n' +
      'admin certificates get clientAuth only.',
    args: [
      { name: 'ROLE', description: 'host, target or admin', choices: ROLES },
      { name: 'NAME', description: 'the identity (target name, admin name, host name)' },
    ],
    options: [
      DIR,
      { flags: '--san <NAME>', description: 'a DNS name or IP address of the host (repeatable; default: NAME; host certificates only)', repeatable: true },
      DAYS,
    ],
    json: '{version, files: {cert, key}}',
    examples: ['pki issue host buildbox --san buildbox.example.org', 'pki issue target laptop', 'pki issue admin root'],
    run: issue,
  },
  {
    name: 'pki show',
    summary: 'print what a certificate says: subject, issuer, validity, names, fingerprint',
    args: [{ name: 'FILE', description: 'a PEM certificate' }],
    json: '{version, certificate: {subject, issuer, notBefore, notAfter, subjectAltName, fingerprint256}}',
    examples: ['pki show /etc/binhost/pki/host-buildbox.pem'],
    run: show,
  },
];

async function init(input: CommandInput, ctx: CommandContext): Promise<number> {
  const dir = optString(input, 'dir') ?? DEFAULT_PATHS.pkiDir;
  const ca = await createCa();
  await writeCertifiedKey(pkiPaths.caCert(dir), pkiPaths.caKey(dir), ca);
  report(ctx, { ca: pkiPaths.caCert(dir), key: pkiPaths.caKey(dir) });
  return 0;
}

async function issue(input: CommandInput, ctx: CommandContext): Promise<number> {
  const [role, name] = input.args as [Role, string];
  const dir = optString(input, 'dir') ?? DEFAULT_PATHS.pkiDir;
  const daysText = optString(input, 'days');
  const days = daysText === undefined ? undefined : Number(daysText);
  if (days !== undefined && !(Number.isInteger(days) && days > 0)) throw new UsageError(`--days: expected a positive integer, got "${daysText}"`);
  const sans = input.opts['san'];
  if (Array.isArray(sans) && role !== 'host') throw new UsageError('--san is for host certificates only (target and admin certificates name no host)');
  const ca = await readCa(dir).catch((err: unknown) => {
    if (errnoCode(err) !== 'ENOENT') throw err;
    const missing = (err as NodeJS.ErrnoException).path ?? pkiPaths.caCert(dir);
    throw new AgentError(`no CA to sign with: ${missing} does not exist (create the CA with binhostctl pki init --dir ${dir}, or give --dir of an existing one)`, undefined, { cause: err });
  });
  const pair = await issueCertificate({
    ca,
    role,
    name,
    ...(Array.isArray(sans) ? { sans } : {}),
    ...(days ? { validDays: days } : {}),
  });
  const cert = pkiPaths.cert(dir, role, name);
  const key = pkiPaths.key(dir, role, name);
  await writeCertifiedKey(cert, key, pair);
  report(ctx, { cert, key });
  return 0;
}

async function show(input: CommandInput, ctx: CommandContext): Promise<number> {
  const file = input.args[0]!;
  const pem = await readUserFile(file, () => readFile(file, 'utf8'));
  let info: ReturnType<typeof describeCertificate>;
  try {
    info = describeCertificate(pem);
  } catch (err) {
    const detail = /no start line/.test(errorMessage(err)) ? 'no "-----BEGIN CERTIFICATE-----" line' : errorMessage(err).replace(/^error:[0-9A-F]+:/, '');
    throw new AgentError(`${file}: not a PEM certificate (${detail})`, undefined, { cause: err });
  }
  const view = {
    subject: info.subject,
    issuer: info.issuer,
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
    subjectAltName: info.subjectAltName ?? '',
    fingerprint256: info.fingerprint256,
  };
  if (ctx.json) printJson(ctx.stdout, { certificate: view });
  else for (const [k, v] of Object.entries(view)) ctx.stdout.write(`${k}: ${v || '-'}\n`);
  return 0;
}

function report(ctx: CommandContext, files: Record<string, string>): void {
  if (ctx.json) printJson(ctx.stdout, { files });
  else for (const [k, v] of Object.entries(files)) ctx.stdout.write(`wrote ${k}: ${v}\n`);
}
