import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@binhost/shared';
import { Mirror } from './mirror.js';
import { MirrorStore } from './mirror-store.js';
import { MirrorServer } from './mirror-server.js';
import { fakeSource, indexFor } from './mirror.test-helpers.js';

/** A raw HTTP request, so paths are sent exactly as written (fetch would normalise `..`). */
function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('MirrorServer', () => {
  let dir: string;
  let server: MirrorServer;
  let port: number;
  const files = [{ path: 'app-misc/hello/hello-1.0-1.gpkg.tar', data: randomBytes(3000) }];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mirror-http-'));
    const store = new MirrorStore(dir);
    server = new MirrorServer(store, silentLogger());
    port = await server.start(0);
    expect((await get(port, '/Packages')).status).toBe(404); // nothing mirrored yet
    await new Mirror({ store, source: fakeSource(new Map([[1, { files }]])).source, log: silentLogger() }).sync(1, new AbortController().signal);
  });
  afterEach(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the index and the files it names, on 127.0.0.1 only', async () => {
    expect((await get(port, '/Packages')).body).toEqual(indexFor(files));
    expect((await get(port, `/${files[0]!.path}`)).body).toEqual(files[0]!.data);
    const head = await get(port, `/${files[0]!.path}`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect((server as unknown as { server: { address(): { address: string } } }).server.address().address).toBe('127.0.0.1');
  });

  it('answers 404 for anything else, including traversal and mirror internals', async () => {
    for (const path of ['/', '/current.json', '/objects', '/../../etc/passwd', '/app-misc/%2e%2e/%2e%2e/current.json', '/app-misc/other.gpkg.tar']) {
      expect((await get(port, path)).status, path).toBe(404);
    }
    expect((await get(port, '/Packages', 'POST')).status).toBe(405);
  });
});
