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
