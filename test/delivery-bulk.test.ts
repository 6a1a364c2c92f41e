import { randomBytes } from 'node:crypto';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BULK_ALPN, encodeBulkRequest, isStatus, SocketReader, silentLogger, type FetchFileResponse, type Role } from '@binhost/shared';
import { HostLayout } from '@binhost/agent-host';
import { bulkSnapshotSource, type SnapshotSource } from '@binhost/agent-target';
import { useHarness } from './helpers/harness.js';
import { makePki, TEST_SERVER_NAME } from './helpers/pki.js';
import type { StartedHost } from './helpers/start-host.js';
import { packagesIndex, writeSnapshot } from './helpers/publish-snapshot.js';

describe('bulk-data connections (same listener, same mutual TLS, same checks as FetchFile)', () => {
  const h = useHarness();
  let host: StartedHost;
  const big = { path: 'app-misc/big/big-1.0-1.gpkg.tar', data: randomBytes(3 * 1024 * 1024 + 13) };
  const small = { path: 'app-misc/small/small-1.0-1.gpkg.tar', data: randomBytes(10) };
  const closers: (() => void)[] = [];

  beforeEach(async () => {
    host = await h.startHost();
    await writeSnapshot({ stateDir: host.stateDir, root: 'alpha', id: 1, files: [small] });
    await writeSnapshot({ stateDir: host.stateDir, root: 'alpha', id: 2, files: [big, small], publishFor: ['alpha'], daemon: host.daemon });
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
  });

  const tlsOf = async (role: Role, name: string) => {
    const f = await h.pki.files(role, name);
    return { ca: await readFile(f.ca), cert: await readFile(f.cert), key: await readFile(f.key) };
  };
  /** A bulk source that never falls back (its gRPC side fails loudly). */
  const sourceFor = async (role: Role, name: string) => {
    const tls = await tlsOf(role, name);
    const none: SnapshotSource = {
      publication: () => Promise.reject(new Error('not used')),
      fetch: () => {
        throw new Error('fell back to FetchFile');
      },
    };
    const source = bulkSnapshotSource(none, () => ({ address: host.address, serverName: TEST_SERVER_NAME, tls }), silentLogger());
    closers.push(() => source.close());
    return source;
  };
  const fetchAll = async (source: SnapshotSource, snapshotId: number, path: string, offset = 0) => {
    const out: FetchFileResponse[] = [];
    for await (const m of source.fetch(snapshotId, path, offset, new AbortController().signal)) out.push(m);
    return out;
  };
  const bytesOf = (chunks: FetchFileResponse[]) => Buffer.concat(chunks.map((c) => c.data));

  it('serves a file and a resumed range as FetchFile does, several files on one reused connection', async () => {
    const alpha = await sourceFor('target', 'alpha');
    const whole = await fetchAll(alpha, 2, big.path);
    expect(bytesOf(whole).equals(big.data)).toBe(true);
    expect(whole.every((c) => c.totalSize === BigInt(big.data.length))).toBe(true);
    const resumed = await fetchAll(alpha, 0, big.path, 500_000); // 0: the published snapshot
    expect(resumed[0]?.offset).toBe(500_000n);
    expect(bytesOf(resumed).equals(big.data.subarray(500_000))).toBe(true);
    expect(bytesOf(await fetchAll(alpha, 1, small.path)).equals(small.data)).toBe(true);
    const atEnd = await fetchAll(alpha, 2, small.path, 10);
    expect(atEnd.map((c) => [c.offset, c.data.length])).toEqual([[10n, 0]]);
  });

  it('refuses unsafe names, names not in the index, escapes, other targets, bad offsets and non-target certificates', async () => {
    const layout = new HostLayout(host.stateDir);
    await writeSnapshot({ stateDir: host.stateDir, root: 'alpha', id: 4, files: [], index: packagesIndex([{ path: 'escape-link', data: Buffer.from('x') }]) });
    await symlink('/etc/passwd', join(layout.snapshotDir('alpha', 4), 'escape-link'));
    const alpha = await sourceFor('target', 'alpha');
    const beta = await sourceFor('target', 'beta');
    const admin = await sourceFor('admin', 'root');
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) =>
          isStatus(e, status.INVALID_ARGUMENT) ? 'invalid' : isStatus(e, status.NOT_FOUND) ? 'not-found' : isStatus(e, status.PERMISSION_DENIED) ? 'denied' : isStatus(e, status.OUT_OF_RANGE) ? 'range' : String(e),
      );
    expect(await code(fetchAll(alpha, 2, '../../etc/shadow'))).toBe('invalid');
    expect(await code(fetchAll(alpha, 2, '/etc/passwd'))).toBe('invalid');
    expect(await code(fetchAll(alpha, 2, 'Packages'))).toBe('not-found');
    expect(await code(fetchAll(alpha, 2, 'digests.json'))).toBe('not-found');
    expect(await code(fetchAll(alpha, 1, big.path))).toBe('not-found'); // not in snapshot 1
    expect(await code(fetchAll(alpha, 4, 'escape-link'))).toBe('denied');
    expect(await code(fetchAll(alpha, 2, small.path, 11))).toBe('range');
    expect(await code(fetchAll(beta, 2, small.path))).toBe('not-found'); // beta has no snapshot of alpha's root
    expect(await code(fetchAll(admin, 2, small.path))).toBe('denied');
    // after all those refusals the connection still serves
    expect(bytesOf(await fetchAll(alpha, 2, small.path)).equals(small.data)).toBe(true);
  });

  it('refuses a client of another CA, or without a certificate, in the TLS handshake', async () => {
    const other = await makePki(`${h.dir}/other-pki`);
    const f = await other.files('target', 'alpha');
    const port = Number(host.address.split(':').pop());
    const dial = (opts: object) =>
      new Promise<string>((resolve) => {
        const s: TLSSocket = connect({ host: '127.0.0.1', port, servername: TEST_SERVER_NAME, ALPNProtocols: [BULK_ALPN], ...opts });
        s.on('error', (err) => resolve(`error ${err.message}`));
        s.on('secureConnect', () => {
          // TLS 1.3: the server checks the client certificate after the client thinks it is done
          const reader = new SocketReader(s);
          s.write(encodeBulkRequest({ snapshotId: 2, path: small.path, offset: 0n }));
          void reader.readLine().then(
            (line) => resolve(line === undefined ? 'closed' : `answered ${line}`),
            (err: Error) => resolve(`error ${err.message}`),
          );
        });
      });
    const { ca } = await tlsOf('target', 'alpha');
    expect(await dial({ ca, cert: await readFile(f.cert), key: await readFile(f.key) })).toMatch(/^(error|closed)/);
    expect(await dial({ ca })).toMatch(/^(error|closed)/);
  });

  it("falls back to FetchFile when the host's listener does not offer the bulk protocol", async () => {
    const { ca, cert, key } = await tlsOf('host', 'host');
    const h2only = createServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (s) => s.destroy());
    await new Promise<void>((resolve) => h2only.listen(0, '127.0.0.1', resolve));
    closers.push(() => h2only.close());
    const tls = await tlsOf('target', 'alpha');
    const fallback: SnapshotSource = {
      publication: () => Promise.reject(new Error('not used')),
      async *fetch(_id, _path, offset) {
        yield { offset: BigInt(offset), data: Buffer.from('via FetchFile'), totalSize: 13n };
      },
    };
    const address = `127.0.0.1:${(h2only.address() as { port: number }).port}`;
    const source = bulkSnapshotSource(fallback, () => ({ address, serverName: TEST_SERVER_NAME, tls }), silentLogger());
    closers.push(() => source.close());
    expect(bytesOf(await fetchAll(source, 2, small.path)).toString()).toBe('via FetchFile');
  });
});
