import { Writable } from 'node:stream';
import { COMMANDS, dispatch, GROUPS } from './dispatch.js';

/** Help is wrapped at this width in the README. */
const GUIDE_COLUMNS = 100;

/** The real `--help` text of `words`, as a terminal of {@link GUIDE_COLUMNS} columns shows it. */
async function helpText(words: readonly string[]): Promise<string> {
  let text = '';
  const out = Object.assign(new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }), { columns: GUIDE_COLUMNS, isTTY: true });
  const code = await dispatch([...words, '--help'], { stdout: out, stderr: out });
  if (code !== 0) throw new Error(`binhostctl ${words.join(' ')} --help exited ${code}`);
  return text;
}

/** Drops the "Global Options:" block, which the guide shows once. */
function withoutGlobals(help: string): string {
  return help.replace(/\nGlobal Options:\n(?: .*\n)+/, '');
}

/**
 * The README's "binhostctl user guide" reference: the help text of every command, generated from
 * the command table (scripts/cli-guide.mjs writes it; test/cli-guide.test.ts checks it is current).
 */
export async function userGuide(): Promise<string> {
  const parts = ['```text', (await helpText([])).trimEnd(), '```', ''];
  const seen = new Set<string>();
  for (const c of COMMANDS) {
    const group = c.name.includes(' ') ? c.name.split(' ')[0]! : undefined;
    if (group && !seen.has(group)) {
      seen.add(group);
      const g = GROUPS.find((x) => x.name === group)!;
      parts.push(`#### binhostctl ${g.name}`, '', `${g.summary}.`, '');
    }
    parts.push(`#### binhostctl ${c.name}`, '', '```text', withoutGlobals(await helpText(c.name.split(' '))).trimEnd(), '```', '');
  }
  return parts.join('\n');
}
