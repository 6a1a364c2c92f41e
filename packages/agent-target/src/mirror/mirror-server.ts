import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertSafeRelativePath, errorMessage, type Logger } from '@binhost/shared';
import type { MirrorStore } from './mirror-store.js';

/**
 * The loopback-only HTTP endpoint Portage reads the mirror from (binrepos.conf `sync-uri`). It
 * binds 127.0.0.1 and nothing else, and serves exactly the served snapshot: `/Packages` and the
 * files that index names (GET and HEAD). Every other name is 404; nothing is ever listed.
 */
export class MirrorServer {
  private server: Server | undefined;

  constructor(
    private readonly store: MirrorStore,
    private readonly log: Logger,
  ) {}

  /** Binds 127.0.0.1:`port` (0 = ephemeral) and resolves to the port. */
  async start(port: number): Promise<number> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return end(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      const name = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname).replace(/^\//, '');
      const served = await this.store.served();
      if (!served) return end(res, 404, 'no snapshot mirrored yet\n');
      if (name === 'Packages') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': served.indexBytes.length });
        return void res.end(req.method === 'HEAD' ? undefined : served.indexBytes);
      }
      try {
        assertSafeRelativePath(name, 'request path');
      } catch {
        return end(res, 404, 'not found\n');
      }
      const entry = served.byPath.get(name);
      if (!entry) return end(res, 404, 'not found\n');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': entry.size });
      if (req.method === 'HEAD') return void res.end();
      const stream = createReadStream(this.store.objectPath(entry.key));
      stream.on('error', (err) => {
        this.log.warn({ path: name, err: errorMessage(err) }, 'mirror file unreadable');
        res.destroy(err);
      });
      stream.pipe(res);
    } catch (err) {
      this.log.warn({ url: req.url, err: errorMessage(err) }, 'mirror request failed');
      if (!res.headersSent) end(res, 400, 'bad request\n');
      else res.destroy();
    }
  }
}

function end(res: ServerResponse, code: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'text/plain', ...headers });
  res.end(body);
}
