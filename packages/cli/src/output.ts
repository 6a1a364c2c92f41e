/**
 * Output for people (aligned columns) and for programs (`--json`). JSON goes through the
 * generated `toJSON` of each message by the caller, since bigint breaks JSON.stringify.
 */

/** Prints rows as aligned columns under a header. */
export function table(out: NodeJS.WritableStream, header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd() + '\n';
  out.write(line(header));
  for (const row of rows) out.write(line(row));
}

/** Prints a value as pretty JSON. */
export function printJson(out: NodeJS.WritableStream, value: unknown): void {
  out.write(JSON.stringify(value, null, 2) + '\n');
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
