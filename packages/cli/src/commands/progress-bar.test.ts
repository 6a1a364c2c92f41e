import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { emptyProgress, parseEmergeLine } from '@binhost/shared';
import { buildProgressLine, LiveLine } from './progress-bar.js';

describe('build progress line', () => {
  it('shows the package, its place and the phase from emerge output', () => {
    const p = emptyProgress();
    parseEmergeLine(p, '>>> Emerging (2 of 4) app-misc/hello-1.0::gentoo for /binhost/');
    parseEmergeLine(p, '>>> Compiling source in /var/tmp/portage/app-misc/hello-1.0/work/hello-1.0 ...');
    expect(buildProgressLine(p, 10)).toBe('[####......] 2/4 app-misc/hello-1.0 (compile)');
  });

  it('draws only on a terminal, and clears before normal output', () => {
    const piped = new PassThrough();
    let text = '';
    piped.on('data', (d) => (text += d));
    const line = new LiveLine(piped);
    line.draw('x');
    line.clear();
    expect(text).toBe('');
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    let shown = '';
    tty.on('data', (d) => (shown += d));
    const live = new LiveLine(tty);
    live.draw('[##] 1/2');
    live.clear();
    expect(shown).toBe('\r\x1b[J[##] 1/2\r\x1b[J');
  });
});
