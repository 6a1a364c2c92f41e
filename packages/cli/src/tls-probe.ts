import { connect } from 'node:tls';
import { parseListenAddress, type TlsMaterial } from '@binhost/shared';

/** What {@link probeTls} says when the host closed the connection right after the handshake. */
export const REFUSED_AFTER_HANDSHAKE = 'the host closed the connection after the TLS handshake';

/**
 * grpc-js reports a refused TLS handshake as a bare UNAVAILABLE ("Failed to connect"), hiding
 * the TLS alert. One plain TLS connection to the same address with the same CA, certificate, key
 * and server name reads the real error: the host's alert ("tlsv1 alert unknown ca") when it
 * refuses our certificate, or our verdict on its certificate. Resolves with the error's text
 * (message and code), or undefined when the handshake succeeds or the socket fails before TLS
 * (connection refused: grpc-js already said that).
 */
export function probeTls(address: string, serverName: string, tls: TlsMaterial, timeoutMs = 3000): Promise<string | undefined> {
  let where: { host: string; port: number };
  try {
    where = parseListenAddress(address);
  } catch {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    let settled = false;
    const socket = connect({ host: where.host, port: where.port, servername: serverName, ca: tls.ca, cert: tls.cert, key: tls.key, ALPNProtocols: ['h2'] });
    const done = (text: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    let tcp = false;
    let secure = false;
    socket.on('connect', () => (tcp = true));
    // before TLS (connection refused, no route…): the socket error grpc-js already reports
    socket.on('error', (err: NodeJS.ErrnoException) => done(tcp ? `${err.code ? `${err.code}: ` : ''}${err.message}` : undefined));
    // TLS 1.3: our handshake ends (and the host's certificate has passed) before the host has
    // judged ours; binhost-host then closes the connection without an alert (another server may
    // send one: read it). A host that accepts waits for HTTP/2 and says nothing.
    socket.on('secureConnect', () => {
      secure = true;
      socket.resume();
      setTimeout(() => done(undefined), 1000);
    });
    socket.on('close', () => done(secure ? REFUSED_AFTER_HANDSHAKE : undefined));
  });
}
