import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './helpers/wait-for.js';

const DEMO = fileURLToPath(new URL('./fixtures/cli/live-line-demo.mjs', import.meta.url));
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

/** Runs a tmux command on our own server socket (never the user's tmux). */
function tmux(socket: string, ...args: string[]): string {
  const res = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

/**
 * The rows of the pane, scrollback included (a terminal that reflows a row over two when it gets
 * narrower may scroll the top row into it), without trailing blanks.
 */
function screen(socket: string): string[] {
  const rows = tmux(socket, 'capture-pane', '-p', '-S', '-', '-t', 'demo').split('\n').map((r) => r.trimEnd());
  while (rows.length && rows.at(-1) === '') rows.pop();
  return rows;
}

describe.skipIf(!hasTmux)('binhostctl progress on a real terminal (tmux)', () => {
  const socket = `binhostctl-test-${process.pid}`;
  afterEach(() => {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  });

  /** Presses `key` and waits until the demo says (in the pane title) that it handled it. */
  async function press(key: string, title: string): Promise<void> {
    tmux(socket, 'send-keys', '-t', 'demo', key);
    await waitFor(() => tmux(socket, 'display-message', '-p', '-t', 'demo', '#{pane_title}').trim() === title, { timeoutMs: 10_000, what: title });
  }

  it.each([80, 200])('draws one row that fits %i columns, leaves no stale rows, also after a resize', async (columns) => {
    tmux(socket, 'new-session', '-d', '-s', 'demo', '-x', String(columns), '-y', '30', process.execPath, DEMO);
    tmux(socket, 'set-option', '-t', 'demo', 'remain-on-exit', 'on');
    await waitFor(() => screen(socket)[0] === 'ready', { timeoutMs: 10_000, what: 'demo ready' });
    const bars = () => screen(socket).filter((r) => r.startsWith('[') || r.includes('MiB'));
    for (let i = 1; i <= 5; i++) await press('d', `drawn ${i}`);
    let rows = screen(socket);
    expect(rows.slice(0, 1)).toEqual(['ready']);
    expect(bars()).toHaveLength(1);
    expect(rows.every((r) => r.length < columns)).toBe(true);
    expect(bars()[0]).toMatch(/^\[#{15}\.{15}\]  50% 4\.8\/9\.5 MiB {2}file 6\/10 app-misc\/very-lo/);
    if (columns < 120) expect(bars()[0]!.endsWith('…')).toBe(true);

    await press('l', 'line 1');
    await press('d', 'drawn 6');
    expect(screen(socket).slice(0, 2)).toEqual(['ready', 'normal line 1']);
    expect(bars()).toHaveLength(1);

    // narrower: the terminal reflows the drawn row over two; the redraw climbs back over both
    tmux(socket, 'resize-window', '-t', 'demo', '-x', String(Math.floor(columns / 2)));
    await waitFor(() => tmux(socket, 'display-message', '-p', '-t', 'demo', '#{pane_title}').trim() === `width ${Math.floor(columns / 2)}`, { timeoutMs: 10_000, what: 'the narrower width' });
    await press('d', 'drawn 7');
    rows = screen(socket);
    expect(rows.slice(0, 2)).toEqual(['ready', 'normal line 1']);
    expect(bars()).toHaveLength(1);
    expect(rows.every((r) => r.length < columns / 2)).toBe(true);
    // wider again, then done: the live row is cleared
    tmux(socket, 'resize-window', '-t', 'demo', '-x', String(columns));
    await waitFor(() => tmux(socket, 'display-message', '-p', '-t', 'demo', '#{pane_title}').trim() === `width ${columns}`, { timeoutMs: 10_000, what: 'the wider width' });
    await press('d', 'drawn 8');
    expect(bars()).toHaveLength(1);
    tmux(socket, 'send-keys', '-t', 'demo', 'q');
    await waitFor(() => screen(socket).includes('done'), { timeoutMs: 10_000, what: 'demo done' });
    expect(screen(socket).filter((r) => r.startsWith('ready') || r.startsWith('normal') || r === 'done' || r.includes('MiB'))).toEqual(['ready', 'normal line 1', 'done']);
  });
});
