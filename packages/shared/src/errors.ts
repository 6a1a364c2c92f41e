import { status } from '@grpc/grpc-js';

/**
 * The one error type the agents throw on purpose. `code` is the gRPC status it maps to when it
 * crosses the wire (see grpc/status.ts); the message is safe to show to the peer.
 */
export class AgentError extends Error {
  override name = 'AgentError';
  constructor(
    message: string,
    readonly code: status = status.INTERNAL,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A config file (or a value in it) is wrong. The message names the file and the key. */
export class ConfigError extends AgentError {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly key: string | undefined,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(key === undefined ? `${file}: ${detail}` : `${file}: ${key}: ${detail}`, status.FAILED_PRECONDITION, options);
  }
}

/** The caller's certificate does not allow what it asked for. */
export class PermissionDeniedError extends AgentError {
  override name = 'PermissionDeniedError';
  constructor(message: string) {
    super(message, status.PERMISSION_DENIED);
  }
}

/** A thing the caller named does not exist. */
export class NotFoundError extends AgentError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(message, status.NOT_FOUND);
  }
}

/** The caller sent a value that cannot be accepted (a bad path, a malformed name, ...). */
export class InvalidArgumentError extends AgentError {
  override name = 'InvalidArgumentError';
  constructor(message: string) {
    super(message, status.INVALID_ARGUMENT);
  }
}

/** The request is valid but the current state does not allow it (no snapshot yet, flags unknown, ...). */
export class FailedPreconditionError extends AgentError {
  override name = 'FailedPreconditionError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, status.FAILED_PRECONDITION, options);
  }
}

/** Node's message for an unknown error, without assuming it is an Error. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The `code` of a Node system error (ENOENT, EACCES, ...), if it is one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/**
 * What a failed bind of a configured address becomes: an error naming the config file, the key
 * and the address (`host.toml: listen: 127.0.0.1:7453 is already in use (EADDRINUSE)`).
 *
 * A port in use is NOT a configuration error (exit 1, so systemd's Restart=on-failure retries):
 * the usual holder is the agent's own previous instance still stopping, or a service that goes
 * away, and a retry then succeeds. An address this machine does not have (EADDRNOTAVAIL) is
 * treated the same way, as it may be an interface still coming up at boot. A port the agent may
 * not bind (EACCES) is a {@link ConfigError} (exit 78): retrying cannot change it.
 */
export function bindError(err: unknown, file: string, key: string, address: string): Error {
  const code = errnoCode(err);
  const options = { cause: err };
  if (code === 'EADDRINUSE') return new AgentError(`${file}: ${key}: ${address} is already in use (EADDRINUSE)`, status.UNAVAILABLE, options);
  if (code === 'EADDRNOTAVAIL') return new AgentError(`${file}: ${key}: ${address} is not an address of this machine (EADDRNOTAVAIL)`, status.UNAVAILABLE, options);
  if (code === 'EACCES') return new ConfigError(file, key, `${address}: permission denied to bind (EACCES)`, options);
  return new AgentError(`${file}: ${key}: cannot listen on ${address}: ${errorMessage(err)}`, status.INTERNAL, options);
}
