// Pulls a target's published snapshot into a mirror dir, as the target agent's Mirror does, in its
// own process so that its memory is measured alone. argv: CA CERT KEY ADDRESS MIRROR_DIR [ROUNDS] [SNAPSHOT_ID]
// Prints one JSON line per round: {ms, bytes, files, cpuS, maxRssMiB}.
import { readFileSync } from 'node:fs';
import { Mirror, MirrorStore, bulkSnapshotSource, grpcSnapshotSource } from '@binhost/agent-target';
import { createTargetServiceClient, clientCredentials, clientChannelOptions, silentLogger } from '@binhost/shared';

const [ca, cert, key, address, mirrorDir, rounds = '1', snapshotId = '0'] = process.argv.slice(2);
const client = createTargetServiceClient(
  address,
  clientCredentials({ ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key) }),
  clientChannelOptions({ serverName: 'binhost.bench' }),
);
// as the agent does (sync/delivery.ts): files over bulk-data connections; BENCH_NO_BULK=1 keeps them on FetchFile
const tls = { ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key) };
const grpc = grpcSnapshotSource(() => client);
const source = process.env.BENCH_NO_BULK ? grpc : bulkSnapshotSource(grpc, () => ({ address, serverName: 'binhost.bench', tls }), silentLogger());
const mirror = new Mirror({ store: new MirrorStore(mirrorDir), source, log: silentLogger(), ...(process.env.BENCH_CONCURRENCY ? { concurrency: Number(process.env.BENCH_CONCURRENCY) } : {}) });
let peak = 0;
const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
for (let i = 0; i < Number(rounds); i++) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await mirror.sync(Number(snapshotId), new AbortController().signal);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  peak = Math.max(peak, process.memoryUsage.rss());
  process.stdout.write(JSON.stringify({ ms, bytes: res.bytesFetched, files: res.filesFetched, cpuS: (cpu.user + cpu.system) / 1e6, userS: cpu.user / 1e6, sysS: cpu.system / 1e6, maxRssMiB: Math.max(peak, process.resourceUsage().maxRSS * 1024) / 1048576 }) + '\n');
}
clearInterval(sample);
source.close?.();
client.close();
