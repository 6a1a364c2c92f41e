import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';

/** A test-only static file server on 127.0.0.1:0 (like the guide's `python -m http.server`). */
export interface StaticServer {
  url: string;
  /** Paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves `dir` read-only over HTTP; 404 for anything missing or outside it. */
export async function serveDirectory(dir: string): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const rel = normalize(path).replace(/^\/+/, '');
    if (rel.startsWith('..')) {
      res.writeHead(403).end();
      return;
    }
    readFile(join(dir, rel)).then(
      (data) => res.writeHead(200, { 'content-length': data.length }).end(data),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
