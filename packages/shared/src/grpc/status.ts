import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { AgentError, errnoCode } from '../errors.js';

/**
 * Node errno codes that mean "the other side or the disk is not there right now"; everything
 * else unknown is INTERNAL. https://nodejs.org/api/errors.html#common-system-errors
 */
const ERRNO_STATUS: Record<string, status> = {
  ECONNREFUSED: status.UNAVAILABLE,
  ECONNRESET: status.UNAVAILABLE,
  ETIMEDOUT: status.DEADLINE_EXCEEDED,
  ENOSPC: status.RESOURCE_EXHAUSTED,
  EDQUOT: status.RESOURCE_EXHAUSTED,
};

/**
 * Maps a thrown error to the status sent to the peer. An {@link AgentError}'s message is meant for
 * the peer; any other error's is not (it may name host paths), so it becomes a generic INTERNAL.
 */
export function toStatus(err: unknown): Partial<StatusObject> & { code: status; details: string } {
  if (err instanceof AgentError) return { code: err.code, details: err.message, metadata: new Metadata() };
  const code = errnoCode(err);
  const mapped = code ? ERRNO_STATUS[code] : undefined;
  if (mapped !== undefined) return { code: mapped, details: `host error ${code}`, metadata: new Metadata() };
  return { code: status.INTERNAL, details: 'internal error (see the host log)', metadata: new Metadata() };
}

/** True when `err`, or an error in its `cause` chain, is a gRPC error with one of `codes`. */
export function isStatus(err: unknown, ...codes: status[]): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (isServiceError(e) && codes.includes(e.code)) return true;
  }
  return false;
}

/** A grpc-js client error (it carries `code` and `details`). */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** Status codes a client retries with backoff; everything else is final. */
export const RETRYABLE = [status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED] as const;
