import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from './logger.js';

function capture() {
  let text = '';
  const destination = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
  return { log: createLogger({ level: 'debug', destination, base: { agent: 'target' } }), lines: () => text.trim().split('\n') };
}

/** Keys of one JSON line in the order written, repeats included (JSON.parse would hide them). */
function keys(line: string): string[] {
  return [...line.matchAll(/[{,]"([^"]+)":/g)].map((m) => m[1]!);
}

describe('createLogger', () => {
  it('writes a key once when a child binds it again: the innermost value', () => {
    const { log, lines } = capture();
    log.child({ component: 'delivery' }).child({ component: 'mirror', snapshotId: 3 }).child({ snapshotId: 4 }).info('mirrored');
    const [line] = lines();
    expect(keys(line!)).toEqual(['level', 'time', 'agent', 'component', 'snapshotId', 'msg']);
    expect(JSON.parse(line!)).toMatchObject({ agent: 'target', component: 'mirror', snapshotId: 4 });
  });

  it('writes a key once when a call repeats a binding: the call wins, other fields stay', () => {
    const { log, lines } = capture();
    const child = log.child({ component: 'delivery', snapshotId: 3 });
    child.info({ snapshotId: 3, files: 2 }, 'same value');
    child.warn({ snapshotId: 5, err: new Error('boom') }, 'other value');
    child.info('no fields');
    const [same, other, none] = lines();
    expect(keys(same!)).toEqual(['level', 'time', 'agent', 'component', 'snapshotId', 'files', 'msg']);
    expect(keys(other!).filter((k) => k === 'snapshotId')).toHaveLength(1);
    expect(JSON.parse(other!)).toMatchObject({ snapshotId: 5, component: 'delivery', err: { message: 'boom' }, msg: 'other value' });
    expect(JSON.parse(none!)).toMatchObject({ snapshotId: 3, msg: 'no fields' });
  });
});
