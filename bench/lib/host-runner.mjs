// Runs a real host agent (HostDaemon, as binhost-host does) in its own process so its memory can be
// measured alone. IPC: {op:'publish', snapshotId} publishes a snapshot event to every target.
import { HostDaemon } from '@binhost/agent-host';
import { loadHostConfig, silentLogger } from '@binhost/shared';

const config = await loadHostConfig(process.argv[2]);
const daemon = new HostDaemon({ config, log: silentLogger() });
const port = await daemon.start();
process.send({ op: 'listening', port });
process.on('message', async (msg) => {
  if (msg.op === 'publish') {
    const at = Date.now();
    let streams = 0;
    for (const name of daemon.registry.names()) {
      streams += daemon.hub.publish(name, {
        $case: 'snapshotPublished',
        value: { id: msg.snapshotId, root: name, builtDigest: '', createdAt: new Date(at), packageCount: 0, totalBytes: 0n, buildId: 0 },
      });
    }
    process.send({ op: 'published', streams, at });
  } else if (msg.op === 'stop') {
    await daemon.stop();
    process.exit(0);
  }
});
