import { status } from '@grpc/grpc-js';
import { AgentError } from '@binhost/shared';

/** The answer of an RPC whose feature is not built yet: UNIMPLEMENTED, naming the RPC. */
export function notImplemented(method: string): AgentError {
  return new AgentError(`${method} is not implemented by this host yet`, status.UNIMPLEMENTED);
}
