// The yardstick of the single-file race: a bare Node TLS socket piping a file, mutual TLS both
// ways, the receiver hashing SHA-256 inline and writing to disk (fsync'd) before it counts.
//
//   server (forked, IPC): node tls-pipe.mjs serve CA CERT KEY ROOT    → sends {port}
//   client:               node tls-pipe.mjs fetch CA CERT KEY PORT PATH OUT SHA256
//                         → prints {ms, bytes, cpuS, maxRssMiB}
// Protocol: the client writes "PATH\n"; the server answers with the file's bytes and closes.
import { createReadStream, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import tls from 'node:tls';

const [mode, ca, cert, key, ...rest] = process.argv.slice(2);
const creds = { ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key) };

if (mode === 'serve') {
  const [root] = rest;
  const server = tls.createServer({ ...creds, requestCert: true, rejectUnauthorized: true }, (socket) => {
    let line = '';
    const onData = (d) => {
      line += d;
      const nl = line.indexOf('\n');
      if (nl < 0) return;
      socket.off('data', onData);
      const path = line.slice(0, nl);
      if (path.split('/').includes('..')) return socket.destroy();
      createReadStream(join(root, path), { highWaterMark: 256 * 1024 }).pipe(socket);
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (m) => m.op === 'stop' && (server.close(), process.exit(0)));
} else {
  const [port, path, out, expected] = rest;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const socket = tls.connect({ ...creds, host: '127.0.0.1', port: Number(port), servername: 'binhost.bench' });
  socket.write(path + '\n');
  const hash = createHash('sha256');
  let bytes = 0;
  // written in batches of ≥ 1 MiB (TLS hands over 16 KiB records): one syscall per MiB, not 64
  const fh = await open(out, 'w');
  let batch = [];
  let batched = 0;
  for await (const chunk of socket) {
    hash.update(chunk);
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= 1048576) {
      await fh.writev(batch);
      bytes += batched;
      (batch = []), (batched = 0);
    }
  }
  if (batched) await fh.writev(batch);
  bytes += batched;
  await fh.sync();
  await fh.close();
  const digest = hash.digest('hex');
  if (digest !== expected) throw new Error(`SHA-256 mismatch: ${digest} != ${expected}`);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(JSON.stringify({ ms, bytes, cpuS: (cpu.user + cpu.system) / 1e6, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
}
