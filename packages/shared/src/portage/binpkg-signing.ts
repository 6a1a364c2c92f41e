import { InvalidArgumentError } from '../errors.js';
import { type MakeConf, type MakeConfEdit, applyMakeConfEdits, lastAssignment, parseMakeConf, quoteMakeConfValue } from './make-conf.js';

/**
 * The make.conf side of Portage's gpkg signing (Portage ≥ 3.0.78 verifies gpkg signatures by
 * default, so a binhost must sign): `FEATURES=binpkg-signing`, `BINPKG_FORMAT=gpkg`, and the
 * keyrings. Portage also verifies every package it has just signed, with
 * `BINPKG_GPG_VERIFY_GPG_HOME` (default `/etc/portage/gnupg` of the running system), so a binhost
 * root needs a verify keyring that trusts the signing key — the signing home itself works, since
 * it holds the key with ultimate trust (see transcripts/signed-build-without-binhost-keyring.txt).
 */

/** Keyrings and key for {@link enableBinpkgSigning}. */
export interface BinpkgSigningOptions {
  /** GnuPG home holding the secret signing key (`BINPKG_GPG_SIGNING_GPG_HOME`). */
  readonly signingGpgHome: string;
  /** Fingerprint (or key id) of the signing key (`BINPKG_GPG_SIGNING_KEY`). */
  readonly signingKey: string;
  /** GnuPG home Portage verifies with after signing (`BINPKG_GPG_VERIFY_GPG_HOME`). @default signingGpgHome */
  readonly verifyGpgHome?: string;
}

/** The make.conf variables {@link enableBinpkgSigning} sets, besides FEATURES. */
export const BINPKG_SIGNING_VARIABLES = ['BINPKG_FORMAT', 'BINPKG_GPG_SIGNING_GPG_HOME', 'BINPKG_GPG_SIGNING_KEY', 'BINPKG_GPG_VERIFY_GPG_HOME'] as const;

const TOKEN = 'binpkg-signing';

/** Incremental tokens (`FEATURES`, `USE`) applied in order: `x` adds, `-x` removes, `-*` clears. */
export function applyIncrementalTokens(base: Iterable<string>, value: string): Set<string> {
  const set = new Set(base);
  for (const t of value.split(/\s+/).filter(Boolean)) {
    if (t === '-*') set.clear();
    else if (t.startsWith('-')) set.delete(t.slice(1));
    else set.add(t);
  }
  return set;
}

function checkValue(name: string, value: string): void {
  if (value === '' || /[\n"]/.test(value)) throw new InvalidArgumentError(`binpkg signing: ${name} must be a non-empty single-line value, got ${JSON.stringify(value)}`);
}

/** The raw FEATURES text with `-binpkg-signing` dropped and `binpkg-signing` added, quoting kept when possible. */
function featuresRaw(raw: string, value: string): string {
  const drop = (s: string) => s.replace(/(^|\s)-binpkg-signing(?=\s|$)/g, '$1').replace(/\s+/g, ' ').trim();
  const m = /^"([^"\\]*(?:\\.[^"\\]*)*)"$/.exec(raw);
  if (m) return `"${[drop(m[1]!), TOKEN].filter(Boolean).join(' ')}"`;
  return quoteMakeConfValue([drop(value), TOKEN].filter(Boolean).join(' '));
}

/**
 * Returns make.conf text with binpkg signing switched on: the last FEATURES assignment gets
 * `binpkg-signing` (and loses `-binpkg-signing`), the variables in {@link BINPKG_SIGNING_VARIABLES}
 * are set in place or appended. Every other byte is kept.
 */
export function enableBinpkgSigning(conf: MakeConf, options: BinpkgSigningOptions): string {
  const values: Record<(typeof BINPKG_SIGNING_VARIABLES)[number], string> = {
    BINPKG_FORMAT: 'gpkg',
    BINPKG_GPG_SIGNING_GPG_HOME: options.signingGpgHome,
    BINPKG_GPG_SIGNING_KEY: options.signingKey,
    BINPKG_GPG_VERIFY_GPG_HOME: options.verifyGpgHome ?? options.signingGpgHome,
  };
  for (const [k, v] of Object.entries(values)) checkValue(k, v);
  const edits: MakeConfEdit[] = [];
  const appended: string[] = [];
  const features = lastAssignment(conf, 'FEATURES');
  const hasToken = features && applyIncrementalTokens([], features.value).has(TOKEN);
  if (features && !hasToken) edits.push({ assignment: features, raw: featuresRaw(features.raw, features.value) });
  if (!features) appended.push(`FEATURES="${TOKEN}"`);
  for (const [name, value] of Object.entries(values)) {
    const a = lastAssignment(conf, name);
    if (a && a.value === value) continue;
    if (a) edits.push({ assignment: a, raw: quoteMakeConfValue(value) });
    else appended.push(`${name}=${quoteMakeConfValue(value)}`);
  }
  let text = applyMakeConfEdits(conf, edits);
  if (appended.length) text += `${text === '' || text.endsWith('\n') ? '' : '\n'}${appended.join('\n')}\n`;
  return text;
}

/** Whether make.conf text (on top of `profileFeatures`) ends up with binpkg-signing in FEATURES. */
export function hasBinpkgSigning(conf: MakeConf, profileFeatures: Iterable<string> = []): boolean {
  // Within one file the last assignment wins (earlier ones only count through ${FEATURES}).
  return applyIncrementalTokens(profileFeatures, lastAssignment(conf, 'FEATURES')?.value ?? '').has(TOKEN);
}

/** Convenience: {@link enableBinpkgSigning} on text. */
export function enableBinpkgSigningText(text: string, options: BinpkgSigningOptions, file = 'make.conf'): string {
  return enableBinpkgSigning(parseMakeConf(text, { file }), options);
}
