import { status, type ServiceError } from '@grpc/grpc-js';
import { EXIT } from '@binhost/shared';
import type { HostAddress } from './context.js';
import { REFUSED_AFTER_HANDSHAKE } from './tls-probe.js';

/** A failed call in words, with the exit code it means. */
export interface HostFailure {
  readonly message: string;
  readonly exitCode: number;
}

/**
 * Socket errors grpc-js reports inside its UNAVAILABLE details ("No connection established. Last
 * error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: "), in words an admin reads.
 * https://nodejs.org/api/errors.html#common-system-errors
 */
const SOCKET_ERRORS: readonly [RegExp, string][] = [
  [/ECONNREFUSED/, 'connection refused (is binhost-host running and listening on that port?)'],
  [/ETIMEDOUT|Waiting for LB pick|Deadline exceeded/i, 'connection timed out (a firewall, or the wrong address?)'],
  [/EHOSTUNREACH/, 'no route to host'],
  [/ENETUNREACH/, 'network unreachable'],
  [/ECONNRESET|Connection dropped|socket hang up/i, 'the connection was closed during the TLS handshake (does the host accept this admin certificate? see the host log)'],
  [/Name resolution failed|ENOTFOUND|EAI_AGAIN/, 'the name does not resolve'],
];

/**
 * Certificate problems seen by the CLI's TLS client. These are configuration errors (exit 78):
 * retrying does not help, a file or setting must change.
 */
function certificateProblem(details: string, where: HostAddress | undefined): string | undefined {
  const config = where?.configFile ?? 'admin.toml';
  const altname = /(?:Host|IP): (\S+?)\.? is not in the cert's (?:altnames|list): (.*?)\.?(?: Resolution note|$)/s.exec(details);
  if (altname || /ERR_TLS_CERT_ALTNAME_INVALID/.test(details)) {
    const name = altname?.[1] ?? where?.serverName ?? '?';
    const names = altname?.[2]?.trim() ?? 'other names';
    return (
      `the host's certificate does not name "${name}" (it names ${names}): set server_name in ${config} ` +
      `to one of those names, or issue the host a certificate with that name (binhostctl pki issue host NAME --san ${name})`
    );
  }
  if (/CERT_HAS_EXPIRED|certificate has expired/i.test(details)) return `the host's certificate has expired: issue the host a new one (binhostctl pki issue host …)`;
  if (/CERT_NOT_YET_VALID|certificate is not yet valid/i.test(details)) return `the host's certificate is not valid yet: check the clocks of the host and this machine`;
  if (/UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify the first certificate|self[- ]signed certificate|unable to get (local )?issuer/i.test(details)) {
    const ca = where ? `the CA in ${where.caFile} (tls.ca of ${config})` : `the CA in tls.ca of ${config}`;
    return `the host's certificate is not signed by ${ca}: use the CA that issued the host's certificate`;
  }
  if (details === REFUSED_AFTER_HANDSHAKE) {
    const cert = where ? `tls.cert in ${config} (${where.certFile})` : `tls.cert in ${config}`;
    return `the host refused the admin certificate (${details}; its log says why): check ${cert} is an admin certificate of the host's CA and has not expired`;
  }
  if (/alert (unknown ca|bad certificate|certificate unknown|certificate expired|certificate required|certificate revoked|unsupported certificate|access denied)/i.test(details)) {
    const cert = where ? `tls.cert in ${config} (${where.certFile})` : `tls.cert in ${config}`;
    return `the host refused the admin certificate (${/alert ([a-z ]+)/i.exec(details)?.[1]?.trim() ?? 'TLS alert'}): check ${cert} is an admin certificate of the host's CA`;
  }
  return undefined;
}

/** grpc-js wraps the socket error in its own words; keep the socket error only. */
function plainDetails(details: string): string {
  return details
    .replace(/^No connection established\. Last error: (Error(?: \[[A-Z_]+\])?: )?/, '')
    .replace(/\.? ?Resolution note: ?.*$/s, '')
    .trim();
}

/**
 * Describes a failed call to the host: an unreachable host as `cannot reach HOST:PORT: connection
 * refused` (exit 69), a certificate problem with what to fix (exit 78), and anything the host said
 * (its details are already meant for people) as is (exit 1). `tlsError` is what a plain TLS
 * connection to the host said (tls-probe.ts), grpc-js hiding the TLS alert of a refused handshake.
 */
export function describeHostError(err: ServiceError, where: HostAddress | undefined, tlsError?: string): HostFailure {
  const details = err.details || err.message;
  const host = where?.host ?? 'the host';
  if (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED) {
    const cert = (tlsError && certificateProblem(tlsError, where)) || certificateProblem(details, where);
    if (cert) return { message: cert, exitCode: EXIT.CONFIG };
    // A deadline on a call that had connected is the host being slow, not unreachable.
    if (err.code === status.UNAVAILABLE || /Waiting for LB pick|No connection established/.test(details)) {
      const known = SOCKET_ERRORS.find(([re]) => re.test(details));
      return { message: `cannot reach ${host}: ${known ? known[1] : plainDetails(details)}`, exitCode: EXIT.UNAVAILABLE };
    }
  }
  return { message: plainDetails(details), exitCode: EXIT.FAILURE };
}
