/**
 * Output for people (aligned columns) and for programs (`--json`). JSON documents are made by the
 * view layer (view.ts), never by the generated `toJSON`: see there for the interface's rules.
 */
import { jsonDocument } from './view.js';

/** Prints rows as aligned columns under a header. */
export function table(out: NodeJS.WritableStream, header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd() + '\n';
  out.write(line(header));
  for (const row of rows) out.write(line(row));
}

/** Prints one `--json` document, `{"version": 1, ...fields}`, pretty-printed. */
export function printJson(out: NodeJS.WritableStream, fields: Record<string, unknown>): void {
  out.write(JSON.stringify(jsonDocument(fields), null, 2) + '\n');
}

/** Prints one event of a streamed `--json` output (JSON Lines): `{"version": 1, "event": …}`. */
export function printJsonLine(out: NodeJS.WritableStream, event: string, fields: Record<string, unknown>): void {
  out.write(JSON.stringify(jsonDocument({ event, ...fields })) + '\n');
}

/** Shortens `text` to `max` characters, ending in `…` when cut; newlines become spaces. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  return flat.length <= max ? flat : flat.slice(0, Math.max(0, max - 1)) + '…';
}

/** "3m ago", "2h ago", "never": how long ago a time was, for status columns. */
export function ago(date: Date | undefined, now = Date.now()): string {
  if (!date) return 'never';
  const s = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** The first 12 hex digits of a digest, as people compare them. */
export function shortDigest(digest: string): string {
  return digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '-';
}

/**
 * One line per damaged record of each target, printed under the status and targets tables:
 * `NAME: damaged: FILE: PROBLEM; REMEDY`.
 */
export function printDamaged(
  out: NodeJS.WritableStream,
  targets: readonly { name: string; damaged: readonly { file: string; problem: string; remedy: string }[] }[],
): void {
  for (const t of targets) for (const d of t.damaged) out.write(`${t.name}: damaged: ${d.file}: ${d.problem}; ${d.remedy}\n`);
}
