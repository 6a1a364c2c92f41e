import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type OpenEventsResponse } from '@binhost/shared';
import { TargetRegistry } from '../registry/target-registry.js';
import { TargetStore } from '../registry/target-store.js';
import { EventHub } from '../events/event-hub.js';
import type { PublicationSource } from './publication-source.js';
import { openStreamAndTakeQueued, pendingSync, queueSync } from './sync-queue.js';
import { requestSync } from '../rpc/sync-admin.js';

/** Everything a subscription received so far (it is closed by this). */
async function received(sub: ReturnType<EventHub['subscribe']>): Promise<OpenEventsResponse[]> {
  sub.close();
  const out: OpenEventsResponse[] = [];
  for await (const m of sub.drain()) out.push(m);
  return out;
}

describe('sync queue (TriggerSync for a target that is not connected)', () => {
  let dir: string;
  let hub: EventHub;
  let registry: TargetRegistry;
  let published: number;
  const publications = { publishedId: () => published } as unknown as PublicationSource;
  const deps = () => ({ registry, hub, publications, publishedSnapshotId: () => published });
  const reload = async () => {
    await registry.flush();
    registry = new TargetRegistry(new TargetStore(dir), hub, silentLogger());
    await registry.load();
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binhost-sync-queue-'));
    hub = new EventHub();
    registry = new TargetRegistry(new TargetStore(dir), hub, silentLogger());
    await registry.load();
    await registry.update('alpha', () => undefined);
    published = 3;
  });
  afterEach(async () => {
    await registry.flush();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps only the latest request, durably, and delivers it once after a reload, with the current snapshot', async () => {
    await queueSync(registry, 'alpha', { requestId: 'r1', args: ['a'], confirmed: false, reason: 'first' });
    await queueSync(registry, 'alpha', { requestId: 'r2', args: ['app-misc/hello'], confirmed: true, reason: 'second' });
    expect(pendingSync(registry, 'alpha')).toMatchObject({ requestId: 'r2', confirmed: true });
    const onDisk = JSON.parse(await readFile(join(dir, 'alpha', 'record.json'), 'utf8')) as { pendingSync: { requestId: string } };
    expect(onDisk.pendingSync.requestId).toBe('r2');

    await reload(); // a host restart
    expect(pendingSync(registry, 'alpha')).toMatchObject({ requestId: 'r2', args: ['app-misc/hello'], confirmed: true, reason: 'second' });
    published = 4; // a newer snapshot was published while the target was away
    const sub = hub.subscribe('alpha');
    const delivered = await openStreamAndTakeQueued(deps(), 'alpha', silentLogger());
    expect(delivered).toEqual({ requestId: 'r2', snapshotId: 4, args: ['app-misc/hello'], confirmed: true, reason: 'second' });
    expect((await received(sub)).map((m) => m.event)).toEqual([{ $case: 'syncRequested', value: delivered }]);
    expect(registry.get('alpha').lastSeen).toBeDefined();

    // cleared, in memory and on disk: the next connection gets nothing
    expect(pendingSync(registry, 'alpha')).toBeUndefined();
    await reload();
    expect(pendingSync(registry, 'alpha')).toBeUndefined();
    const again = hub.subscribe('alpha');
    expect(await openStreamAndTakeQueued(deps(), 'alpha', silentLogger())).toBeUndefined();
    expect(await received(again)).toEqual([]);
  });

  it('requestSync publishes to an open stream and queues nothing; with none open it queues', async () => {
    const sub = hub.subscribe('alpha');
    const live = await requestSync(deps(), { target: 'alpha', confirmed: true, args: [] });
    expect(live.delivered).toBe(true);
    expect(pendingSync(registry, 'alpha')).toBeUndefined();
    expect((await received(sub)).map((m) => m.event?.$case === 'syncRequested' && m.event.value.requestId)).toEqual([live.requestId]);
    sub.unsubscribe();

    const queued = await requestSync(deps(), { target: 'alpha', confirmed: true, args: ['x'] });
    expect(queued.delivered).toBe(false);
    expect(pendingSync(registry, 'alpha')).toMatchObject({ requestId: queued.requestId, args: ['x'], confirmed: true });
    await expect(requestSync(deps(), { target: 'nobody', confirmed: false, args: [] })).rejects.toThrow(/no target named "nobody"/);
    published = 0;
    await expect(requestSync(deps(), { target: 'alpha', confirmed: false, args: [] })).rejects.toThrow(/no snapshot is published for alpha/);
  });

  it('a request made while the stream is opening is delivered to it, not left behind', async () => {
    const pending = requestSync(deps(), { target: 'alpha', confirmed: true, args: [] }); // sees no stream
    const sub = hub.subscribe('alpha'); // the target's stream opens before the record write finished
    const delivered = await openStreamAndTakeQueued(deps(), 'alpha', silentLogger());
    const res = await pending;
    expect(res.delivered).toBe(false);
    expect(delivered?.requestId).toBe(res.requestId);
    expect((await received(sub)).length).toBe(1);
    expect(pendingSync(registry, 'alpha')).toBeUndefined();
  });

  it('drops a malformed pendingSync from a hand-edited record.json without publishing', async () => {
    await writeFile(join(dir, 'alpha', 'record.json'), JSON.stringify({ name: 'alpha', pendingSync: { requestId: 7 } }));
    await reload();
    const sub = hub.subscribe('alpha');
    expect(await openStreamAndTakeQueued(deps(), 'alpha', silentLogger())).toBeUndefined();
    expect(await received(sub)).toEqual([]);
    expect(pendingSync(registry, 'alpha')).toBeUndefined();
  });
});
