import { describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { dispatch } from '@binhost/cli';
import { useHarness } from './helpers/harness.js';
import { makePki, TEST_SERVER_NAME } from './helpers/pki.js';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('binhostctl says in words why it cannot talk to the host', () => {
  const h = useHarness();

  async function ctl(address: string, serverName: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
    return ctlWith(await h.pki.files('admin', 'root'), address, serverName, ...args);
  }

  async function ctlWith(tls: { ca: string; cert: string; key: string }, address: string, serverName: string, ...args: string[]) {
    const config = join(h.dir, 'admin.toml');
    await writeFile(config, `host = "${address}"\nserver_name = "${serverName}"\n[tls]\nca = "${tls.ca}"\ncert = "${tls.cert}"\nkey = "${tls.key}"\n`);
    let out = '';
    let err = '';
    const sink = (add: (s: string) => void) => new Writable({ write: (c, _e, cb) => (add(String(c)), cb()) });
    const code = await dispatch([...args, '--config', config], { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
    return { code, out, err };
  }

  it('an unreachable host: "cannot reach HOST:PORT: connection refused", exit 69', async () => {
    const port = await closedPort();
    const res = await ctl(`127.0.0.1:${port}`, TEST_SERVER_NAME, 'status');
    expect(res).toEqual({
      code: 69,
      out: '',
      err: `binhostctl: cannot reach 127.0.0.1:${port}: connection refused (is binhost-host running and listening on that port?)\n`,
    });
  });

  it('a host certificate that does not name server_name: exit 78, what to fix, no grpc-js internals', async () => {
    const host = await h.startHost();
    const res = await ctl(`127.0.0.1:${host.port}`, 'wrong.name', 'targets');
    expect(res.code).toBe(78);
    expect(res.err).toBe(
      `binhostctl: the host's certificate does not name "wrong.name" (it names DNS:${TEST_SERVER_NAME}, DNS:localhost): set server_name in ${join(h.dir, 'admin.toml')} ` +
        'to one of those names, or issue the host a certificate with that name (binhostctl pki issue host NAME --san wrong.name)\n',
    );
    // and with the right name it works
    expect((await ctl(`127.0.0.1:${host.port}`, TEST_SERVER_NAME, 'targets')).code).toBe(0);
  });

  it('an admin certificate of another CA, refused by the host in the TLS handshake: exit 78, what to fix', async () => {
    const host = await h.startHost();
    const other = await makePki(join(h.dir, 'other-pki'));
    const mine = await other.files('admin', 'mallory');
    const ca = await h.pki.files('admin', 'root');
    const res = await ctlWith({ ca: ca.ca, cert: mine.cert, key: mine.key }, `127.0.0.1:${host.port}`, TEST_SERVER_NAME, 'targets');
    expect(res.code, res.err).toBe(78);
    expect(res.err).toMatch(
      new RegExp(
        `^binhostctl: the host refused the admin certificate \\((unknown ca|certificate unknown|bad certificate|the host closed the connection after the TLS handshake; its log says why)\\): ` +
          `check tls\\.cert in ${join(h.dir, 'admin.toml')} \\(${mine.cert}\\) is an admin certificate of the host's CA( and has not expired)?\n$`,
      ),
    );
  });

  it("a host certificate not signed by our tls.ca: exit 78, naming the CA file", async () => {
    const host = await h.startHost();
    const other = await makePki(join(h.dir, 'other-pki'));
    const mine = await h.pki.files('admin', 'root');
    const otherCa = (await other.files('admin', 'x')).ca;
    const res = await ctlWith({ ca: otherCa, cert: mine.cert, key: mine.key }, `127.0.0.1:${host.port}`, TEST_SERVER_NAME, 'targets');
    expect(res.code, res.err).toBe(78);
    expect(res.err).toBe(
      `binhostctl: the host's certificate is not signed by the CA in ${otherCa} (tls.ca of ${join(h.dir, 'admin.toml')}): use the CA that issued the host's certificate\n`,
    );
  });
});
