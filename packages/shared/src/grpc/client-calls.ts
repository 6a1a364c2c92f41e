import type { CallOptions, ClientReadableStream, ClientUnaryCall, ClientWritableStream, Metadata, ServiceError } from '@grpc/grpc-js';
import { Metadata as GrpcMetadata } from '@grpc/grpc-js';

/** Default deadline of a unary call. @default 30 s */
const DEFAULT_DEADLINE_MS = 30_000;

type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

/**
 * Calls a generated unary client method with a deadline (every call has one) and returns a
 * promise. `signal` cancels the call.
 */
export function callUnary<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  options: { deadlineMs?: number; signal?: AbortSignal } = {},
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const deadline = new Date(Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINE_MS));
    const call = method(request, new GrpcMetadata(), { deadline }, (err, res) => {
      options.signal?.removeEventListener('abort', cancel);
      if (err) reject(err);
      else resolve(res);
    });
    const cancel = () => call.cancel();
    options.signal?.addEventListener('abort', cancel, { once: true });
  });
}

type ServerStreamMethod<Req, Res> = (req: Req, metadata: Metadata, options: Partial<CallOptions>) => ClientReadableStream<Res>;

/**
 * Opens a server stream as an async iterable. `deadlineMs` bounds the whole stream (omit it only
 * for the long-lived event stream, which keepalive and `idleTimeoutMs` watch instead);
 * `idleTimeoutMs` fails the stream when no message arrives for that long.
 */
export async function* callServerStream<Req, Res>(
  method: ServerStreamMethod<Req, Res>,
  request: Req,
  options: { deadlineMs?: number; idleTimeoutMs?: number; signal?: AbortSignal } = {},
): AsyncGenerator<Res> {
  const callOptions: Partial<CallOptions> = {};
  if (options.deadlineMs !== undefined) callOptions.deadline = new Date(Date.now() + options.deadlineMs);
  const call = method(request, new GrpcMetadata(), callOptions);
  const cancel = () => call.cancel();
  options.signal?.addEventListener('abort', cancel, { once: true });
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    if (options.idleTimeoutMs === undefined) return;
    clearTimeout(idle);
    idle = setTimeout(() => call.destroy(new Error(`no message for ${options.idleTimeoutMs} ms`)), options.idleTimeoutMs);
  };
  try {
    armIdle();
    for await (const message of call as AsyncIterable<Res>) {
      armIdle();
      yield message;
    }
  } finally {
    clearTimeout(idle);
    options.signal?.removeEventListener('abort', cancel);
    call.cancel();
  }
}

type ClientStreamMethod<Req, Res> = (
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, res: Res) => void,
) => ClientWritableStream<Req>;

/** A client stream: write requests with flow control, then `finish()` for the response. */
export interface ClientStreamWriter<Req, Res> {
  write(message: Req): Promise<void>;
  finish(): Promise<Res>;
  cancel(): void;
}

/** Opens a client stream with a deadline. */
export function callClientStream<Req, Res>(
  method: ClientStreamMethod<Req, Res>,
  options: { deadlineMs?: number } = {},
): ClientStreamWriter<Req, Res> {
  let settle!: { resolve: (r: Res) => void; reject: (e: unknown) => void };
  const result = new Promise<Res>((resolve, reject) => (settle = { resolve, reject }));
  result.catch(() => undefined); // observed through finish() or write()
  const deadline = new Date(Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINE_MS));
  const call = method(new GrpcMetadata(), { deadline }, (err, res) => (err ? settle.reject(err) : settle.resolve(res)));
  let failed: unknown;
  result.catch((err) => (failed = err));
  return {
    async write(message) {
      if (failed) throw failed;
      if (!call.write(message)) {
        await Promise.race([new Promise((r) => call.once('drain', r)), result]);
      }
    },
    async finish() {
      call.end();
      return result;
    },
    cancel() {
      call.cancel();
    },
  };
}
