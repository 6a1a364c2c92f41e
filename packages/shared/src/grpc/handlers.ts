import type {
  ServerUnaryCall,
  ServerWritableStream,
  ServerReadableStream,
  sendUnaryData,
  ServiceDefinition,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { once } from 'node:events';
import { PermissionDeniedError } from '../errors.js';
import { certificateOfRole, identityFromSubject, formatIdentity, type Identity, type Role } from '../pki/identity.js';
import { toStatus } from './status.js';

/** What every handler gets besides its request: who called, and a signal for cancellation. */
export interface CallContext {
  readonly identity: Identity;
  /** Aborted when the peer cancels, the deadline passes or the server shuts down. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** "TargetService/ReportState" */
  readonly method: string;
}

/** `async (req, ctx) => res` */
export type UnaryHandler<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;
/** `async function* (req, ctx)`: each yielded value is written with flow control. */
export type ServerStreamHandler<Req, Res> = (req: Req, ctx: CallContext) => AsyncIterable<Res>;
/** `async (requests, ctx) => res` */
export type ClientStreamHandler<Req, Res> = (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>;

type AnyHandler = UnaryHandler<any, any> | ServerStreamHandler<any, any> | ClientStreamHandler<any, any>;

/** Our handler shapes for a generated grpc-js service definition. */
export type Handlers<D extends ServiceDefinition> = {
  [K in keyof D]: D[K] extends { requestStream: false; responseStream: false }
    ? UnaryHandler<ReqOf<D[K]>, ResOf<D[K]>>
    : D[K] extends { requestStream: false; responseStream: true }
      ? ServerStreamHandler<ReqOf<D[K]>, ResOf<D[K]>>
      : D[K] extends { requestStream: true; responseStream: false }
        ? ClientStreamHandler<ReqOf<D[K]>, ResOf<D[K]>>
        : never;
};
type ReqOf<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never;
type ResOf<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never;

/** Options for {@link adaptService}. */
export interface AdaptOptions {
  log: Logger;
  /** The only role allowed to call this service at all. */
  role: Role;
  /** Aborted on server shutdown: ends long-lived streams. */
  shutdown?: AbortSignal;
}

/**
 * Turns our async handlers into a grpc-js service implementation. It owns the plumbing every RPC
 * shares: the caller's identity is read from its verified client certificate and checked against
 * the service's role before the handler runs; thrown errors are mapped to a status once
 * ({@link toStatus}); unknown errors are logged here and never sent to the peer.
 */
export function adaptService<D extends ServiceDefinition>(
  definition: D,
  handlers: Handlers<D>,
  options: AdaptOptions,
): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(definition)) {
    const handler = (handlers as Record<string, AnyHandler>)[key];
    if (!handler) throw new Error(`no handler for ${method.path}`);
    const name = method.path.split('.').pop() ?? method.path;
    if (!method.requestStream && !method.responseStream) impl[key] = unary(name, handler as UnaryHandler<any, any>, options);
    else if (!method.requestStream) impl[key] = serverStream(name, handler as ServerStreamHandler<any, any>, options);
    else if (!method.responseStream) impl[key] = clientStream(name, handler as ClientStreamHandler<any, any>, options);
    else throw new Error(`bidirectional streams are not part of the API: ${method.path}`);
  }
  return impl;
}

/** A call's context, and `dispose` to drop what it registered once the call is over. */
interface OpenContext {
  ctx: CallContext;
  dispose(): void;
}

function contextFor(
  call: ServerUnaryCall<any, any> | ServerWritableStream<any, any> | ServerReadableStream<any, any>,
  method: string,
  options: AdaptOptions,
): OpenContext {
  const controller = new AbortController();
  const events = call as unknown as NodeJS.EventEmitter;
  // Only 'cancelled' means the peer went away: grpc-js also emits 'close' on a client stream as
  // soon as the client has sent its last message, while the handler is still working on it.
  events.on('cancelled', () => controller.abort(new Error('cancelled by peer')));
  const onShutdown = () => controller.abort(new Error('server shutting down'));
  const dispose = () => {
    options.shutdown?.removeEventListener('abort', onShutdown);
    controller.abort(new Error('call ended'));
  };
  options.shutdown?.addEventListener('abort', onShutdown, { once: true });
  const peer = call.getPeer();
  let identity: Identity;
  try {
    const cert = call.getAuthContext().sslPeerCertificate;
    identity = identityFromSubject(cert?.subject as unknown as Record<string, string>);
  } catch (err) {
    dispose();
    options.log.warn({ peer, method, err }, 'unidentified caller refused');
    throw err;
  }
  const log = options.log.child({ method, caller: formatIdentity(identity) });
  if (identity.role !== options.role) {
    dispose();
    log.warn({ peer, required: options.role }, 'permission denied');
    throw new PermissionDeniedError(`${method} needs ${certificateOfRole(options.role)}; ${formatIdentity(identity)} may not call it`);
  }
  return { ctx: { identity, signal: controller.signal, log, method }, dispose };
}

function report(log: Logger, method: string, err: unknown) {
  const st = toStatus(err);
  if (st.details.startsWith('internal error') || st.details.startsWith('host error')) log.error({ err, method }, 'call failed');
  else log.debug({ method, code: st.code, details: st.details }, 'call refused');
  return st;
}

function unary(method: string, handler: UnaryHandler<any, any>, options: AdaptOptions) {
  return (call: ServerUnaryCall<any, any>, callback: sendUnaryData<any>) => {
    void (async () => {
      let open: OpenContext | undefined;
      try {
        open = contextFor(call, method, options);
        return callback(null, await handler(call.request, open.ctx));
      } catch (err) {
        return callback(report(open?.ctx.log ?? options.log, method, err));
      } finally {
        open?.dispose();
      }
    })();
  };
}

function serverStream(method: string, handler: ServerStreamHandler<any, any>, options: AdaptOptions) {
  return (call: ServerWritableStream<any, any>) => {
    void (async () => {
      let open: OpenContext | undefined;
      try {
        open = contextFor(call, method, options);
        const { ctx } = open;
        for await (const message of handler(call.request, ctx)) {
          if (ctx.signal.aborted) break;
          if (!call.write(message)) await once(call, 'drain', { signal: ctx.signal });
        }
        call.end();
      } catch (err) {
        if (open?.ctx.signal.aborted) return; // the peer is gone: nobody to tell
        // grpc-js: failing a stream is emit('error', status); destroy(err) leaves the peer hanging.
        call.emit('error', report(open?.ctx.log ?? options.log, method, err));
      } finally {
        open?.dispose();
      }
    })();
  };
}

function clientStream(method: string, handler: ClientStreamHandler<any, any>, options: AdaptOptions) {
  return (call: ServerReadableStream<any, any>, callback: sendUnaryData<any>) => {
    void (async () => {
      let open: OpenContext | undefined;
      try {
        open = contextFor(call, method, options);
        return callback(null, await handler(call as AsyncIterable<any>, open.ctx));
      } catch (err) {
        return callback(report(open?.ctx.log ?? options.log, method, err));
      } finally {
        open?.dispose();
      }
    })();
  };
}
