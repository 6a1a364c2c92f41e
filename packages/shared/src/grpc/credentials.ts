import { credentials, ServerCredentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import type { TlsMaterial } from './tls-files.js';

/**
 * How long a connection may take to complete its TLS handshake before the host closes it. Node's
 * default is 120 s: a peer that opens TCP connections and never finishes the handshake (a port
 * scanner, a stalled client, a slowloris) would hold a socket and its buffers that long each. A
 * real client on a slow link does the whole handshake in well under a second; 10 s leaves margin
 * for a loaded host.
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Options for {@link serverCredentials}. */
export interface ServerCredentialsOptions {
  /** Connections that have not completed the TLS handshake by then are closed. @default {@link TLS_HANDSHAKE_TIMEOUT_MS} */
  handshakeTimeoutMs?: number;
}

/**
 * Server credentials for the host: its certificate, and a client certificate signed by our CA
 * required on every connection (`checkClientCertificate = true`). There is no insecure mode.
 */
export function serverCredentials(tls: TlsMaterial, options: ServerCredentialsOptions = {}): ServerCredentials {
  const ssl = ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true);
  return new HandshakeTimeoutCredentials(ssl, options.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS);
}

/**
 * grpc-js has no server option for the handshake timeout, but it passes its credentials'
 * constructor options to `http2.createSecureServer` (server.ts `createHttp2Server`), whose
 * `tls.Server` takes `handshakeTimeout`
 * (https://nodejs.org/api/tls.html#tlscreateserveroptions-secureconnectionlistener). These
 * credentials are grpc-js's own SSL ones with that option added, as grpc-js's
 * InterceptorServerCredentials wraps credentials.
 */
class HandshakeTimeoutCredentials extends ServerCredentials {
  constructor(
    private readonly inner: ServerCredentials,
    private readonly handshakeTimeoutMs: number,
  ) {
    super({ ...inner._getConstructorOptions(), handshakeTimeout: handshakeTimeoutMs }, inner._getSecureContextOptions() ?? undefined);
  }
  override _equals(other: ServerCredentials): boolean {
    return other instanceof HandshakeTimeoutCredentials && other.handshakeTimeoutMs === this.handshakeTimeoutMs && this.inner._equals(other.inner);
  }
}

/**
 * Client credentials for targets and the CLI: trust only our CA, present our certificate.
 */
export function clientCredentials(tls: TlsMaterial): ChannelCredentials {
  return credentials.createSsl(tls.ca, tls.key, tls.cert);
}

/** Options for {@link clientChannelOptions}. */
export interface ClientChannelOptions {
  /** The DNS name in the host certificate's SAN, checked against it (never dial by bare IP name). */
  serverName: string;
  /** @default 30_000 */
  keepaliveTimeMs?: number;
  /** @default 15_000 */
  keepaliveTimeoutMs?: number;
  /** @default 64 MiB */
  maxReceiveMessageLength?: number;
}

/**
 * Channel options for a client: the host's certificate name is checked even when we dial an
 * address, and keepalive pings notice a dead NAT mapping within a minute.
 */
export function clientChannelOptions(options: ClientChannelOptions): ChannelOptions {
  return {
    'grpc.ssl_target_name_override': options.serverName,
    'grpc.default_authority': options.serverName,
    'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 30_000,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 15_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': options.maxReceiveMessageLength ?? MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': options.maxReceiveMessageLength ?? MAX_MESSAGE_BYTES,
    // HTTP/2's 64 KiB default window stalls a FetchFile stream every 64 KiB until the
    // WINDOW_UPDATE comes back; 4 MiB per stream keeps the pipe full (bench/delivery.mjs: 71 → ~100 MiB/s)
    'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
  };
}

/** HTTP/2 receive window a client announces, per stream and for the connection. */
const FLOW_CONTROL_WINDOW_BYTES = 4 * 1024 * 1024;

/** The largest message either side accepts: a state report carries all of /etc/portage. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
