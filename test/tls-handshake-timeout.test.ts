import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFile } from 'node:fs/promises';
import { callUnary, serverCredentials, TLS_HANDSHAKE_TIMEOUT_MS } from '@binhost/shared';
import { useHarness } from './helpers/harness.js';
import { TEST_SERVER_NAME } from './helpers/pki.js';
import type { StartedHost } from './helpers/start-host.js';
import { clientsFor } from './helpers/clients.js';

/** The start of a TLS 1.2+ ClientHello record: handshake (22), version 3.1, length 512, then 3 of those bytes. */
const PARTIAL_CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]);
const TIMEOUT_MS = 600;

/** Resolves with the milliseconds from connect until the server closed the socket. */
function openAndWaitForClose(port: number, send?: Buffer): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port }, () => {
      const started = Date.now();
      if (send) socket.write(send);
      resolve({ socket, closed: new Promise((done) => socket.on('close', () => done(Date.now() - started))) });
    });
    socket.on('error', () => undefined); // a reset by the server is a close too
    socket.once('error', reject);
  });
}

/**
 * Connections that never finish the TLS handshake are closed after the handshake timeout, while
 * the host goes on serving real mutual-TLS clients; a connection whose handshake completed is not
 * subject to it.
 */
describe('TLS handshake timeout', () => {
  const h = useHarness();
  let host: StartedHost;
  const sockets: Socket[] = [];

  beforeEach(async () => {
    host = await h.startHost({ handshakeTimeoutMs: TIMEOUT_MS });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
  });

  it('closes silent and half-hello connections after the timeout and serves mTLS clients meanwhile', async () => {
    const silent = await openAndWaitForClose(host.port);
    const partial = await openAndWaitForClose(host.port, PARTIAL_CLIENT_HELLO);
    sockets.push(silent.socket, partial.socket);

    // served while both stalled connections are open
    const admin = await clientsFor(h.pki, host.address, 'admin', 'root');
    try {
      const listed = await callUnary(admin.admin.listTargets.bind(admin.admin), {}, { deadlineMs: 5000 });
      expect(listed.targets).toEqual([]);

      const [silentMs, partialMs] = await Promise.all([silent.closed, partial.closed]);
      for (const ms of [silentMs, partialMs]) {
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
        expect(ms).toBeLessThan(TIMEOUT_MS + 5000);
      }
      // and still served afterwards, on the same channel
      expect((await callUnary(admin.admin.listTargets.bind(admin.admin), {}, { deadlineMs: 5000 })).targets).toEqual([]);
    } finally {
      admin.close();
    }
  });

  it('leaves a connection whose handshake completed open past the timeout', async () => {
    const f = await h.pki.files('admin', 'root');
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: host.port,
      servername: TEST_SERVER_NAME,
      ca: await readFile(f.ca),
      cert: await readFile(f.cert),
      key: await readFile(f.key),
      ALPNProtocols: ['h2'],
    });
    sockets.push(socket);
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    // HTTP/2 needs the client preface; the server then waits for frames with no deadline of its own
    socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + '\0\0\0\x04\0\0\0\0\0');
    await new Promise((r) => setTimeout(r, TIMEOUT_MS * 3));
    expect(closed).toBe(false);
  });

  it('defaults to TLS_HANDSHAKE_TIMEOUT_MS (10 s)', async () => {
    const f = await h.pki.files('host', 'host');
    const creds = serverCredentials({ ca: await readFile(f.ca), cert: await readFile(f.cert), key: await readFile(f.key) });
    expect(TLS_HANDSHAKE_TIMEOUT_MS).toBe(10_000);
    expect(creds._getConstructorOptions()).toMatchObject({ handshakeTimeout: 10_000, requestCert: true });
  });
});
