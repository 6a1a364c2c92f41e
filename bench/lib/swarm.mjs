// Many simulated targets in one process: each has its own certificate and its own TLS connection,
// registers and holds its event stream open like binhost-target does. Reports, per published
// snapshot, when each target received it.
import { readFileSync } from 'node:fs';
import { createTargetServiceClient, callServerStream, callUnary, clientChannelOptions, clientCredentials } from '@binhost/shared';

const { address, targets } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const received = new Map(); // snapshotId -> latencies
let helloCount = 0;

for (const t of targets) {
  const client = createTargetServiceClient(
    address,
    clientCredentials({ ca: Buffer.from(t.ca), cert: Buffer.from(t.cert), key: Buffer.from(t.key) }),
    clientChannelOptions({ serverName: 'binhost.bench' }),
  );
  (async () => {
    await callUnary(client.register.bind(client), { agentVersion: 'bench', hostname: t.name, lastReportedDigest: '', installedSnapshotId: 0 }, { deadlineMs: 60_000 });
    for await (const ev of callServerStream(client.openEvents.bind(client), {})) {
      if (ev.event?.$case === 'hello' && ++helloCount === targets.length) process.send({ op: 'ready' });
      if (ev.event?.$case === 'snapshotPublished') {
        const id = ev.event.value.id;
        const list = received.get(id) ?? [];
        list.push(Date.now() - ev.at.getTime());
        received.set(id, list);
        if (list.length === targets.length) process.send({ op: 'received', snapshotId: id, latencies: list });
      }
    }
  })().catch((err) => process.send({ op: 'error', message: String(err) }));
}
