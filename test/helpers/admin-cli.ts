import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { dispatch } from '@binhost/cli';
import { TEST_SERVER_NAME, type TestPki } from './pki.js';

/** Runs `binhostctl ARGS` in-process against `address` with an admin certificate; returns its output. */
export async function binhostctl(pki: TestPki, dir: string, address: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const tls = await pki.files('admin', 'root');
  const config = join(dir, 'admin.toml');
  await writeFile(
    config,
    `host = ${JSON.stringify(address)}\nserver_name = ${JSON.stringify(TEST_SERVER_NAME)}\n[tls]\nca = ${JSON.stringify(tls.ca)}\ncert = ${JSON.stringify(tls.cert)}\nkey = ${JSON.stringify(tls.key)}\n`,
  );
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void) => new Writable({ write: (c, _e, cb) => (add(c.toString()), cb()) });
  const code = await dispatch([`--config=${config}`, ...args], { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}
