import { createServer, type TLSSocket } from 'node:tls';
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import { serverCredentials, type ServerCredentialsOptions } from './credentials.js';
import type { TlsMaterial } from './tls-files.js';

/**
 * The ALPN protocol of the host's bulk-data connections (bulk-protocol.ts), negotiated on the
 * same listener and the same mutual TLS as gRPC ('h2').
 */
export const BULK_ALPN = 'binhost-bulk/1';

/** Options for {@link listenShared}. */
export interface SharedListenerOptions extends ServerCredentialsOptions {
  /** Takes a verified bulk-data connection (its client certificate checked against our CA). */
  onBulk(socket: TLSSocket): void;
}

/** A listening {@link listenShared}. */
export interface SharedListener {
  readonly port: number;
  /** Accepts no new connection and cuts the bulk ones; gRPC sessions are the grpc-js server's to end. */
  stopAccepting(): void;
  /** Then, once grpc-js has shut down: destroys any connection still open and waits for the listener to close. */
  close(): Promise<void>;
}

/**
 * The host's one listener: a `tls.Server` with grpc-js's own TLS settings for the host (our CA,
 * client certificate required, handshake timeout: {@link serverCredentials}) that hands each
 * verified connection to grpc-js (`createConnectionInjector`) when it negotiated 'h2', or to
 * `onBulk` when it negotiated {@link BULK_ALPN}. Either way the peer is the holder of a
 * certificate of our CA, and each side authorizes the certificate's identity per request.
 *
 * grpc-js checks the caller's certificate through `session.socket`, which is this TLS socket
 * (`getAuthContext`), so handlers see the same identity as with `bindAsync`.
 */
export async function listenShared(server: Server, address: string, tls: TlsMaterial, options: SharedListenerOptions): Promise<SharedListener> {
  const { host, port } = parseListenAddress(address);
  const creds = serverCredentials(tls, options);
  // Not an insecure listener: the injector only takes sockets tlsServer below has already
  // verified (our CA, client certificate required and checked: requestCert and
  // rejectUnauthorized from grpc-js's own SSL options). test/mtls-refusals.test.ts holds it to that.
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const bulk = new Set<TLSSocket>();
  const all = new Set<TLSSocket>();
  const tlsServer = createServer({ ...creds._getConstructorOptions(), ...creds._getSecureContextOptions(), ALPNProtocols: ['h2', BULK_ALPN] }, (socket) => {
    // a handshake error or reset is the peer's problem, never the host's
    socket.on('error', () => undefined);
    all.add(socket);
    socket.once('close', () => all.delete(socket));
    // never reached unverified (rejectUnauthorized), checked here all the same: the injector trusts it
    if (!socket.authorized) socket.destroy();
    else if (socket.alpnProtocol === 'h2') injector.injectConnection(socket);
    else if (socket.alpnProtocol === BULK_ALPN) {
      bulk.add(socket);
      socket.once('close', () => bulk.delete(socket));
      options.onBulk(socket);
    } else socket.destroy();
  });
  // wrong CA, no certificate, handshake timeout: closed (as http2.createSecureServer does)
  tlsServer.on('tlsClientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    tlsServer.once('error', reject);
    tlsServer.listen(port, host, () => (tlsServer.off('error', reject), resolve()));
  });
  const bound = tlsServer.address();
  let closed: Promise<void> | undefined;
  const stopAccepting = () => {
    closed ??= new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    for (const s of bulk) s.destroy();
  };
  return {
    port: typeof bound === 'object' && bound ? bound.port : port,
    stopAccepting,
    async close() {
      stopAccepting();
      injector.destroy();
      for (const s of all) s.destroy();
      await closed;
    },
  };
}

/** `host:port` or `[v6]:port` of the host config (`listen`). */
export function parseListenAddress(address: string): { host: string; port: number } {
  const m = /^\[([^\]]*)\]:(\d+)$/.exec(address) ?? /^([^:]*):(\d+)$/.exec(address);
  if (!m || Number(m[2]) > 65535) throw new RangeError(`expected "address:port", got "${address}"`);
  return { host: m[1] || '::', port: Number(m[2]) };
}
