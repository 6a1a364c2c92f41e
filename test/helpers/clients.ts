import { readFile } from 'node:fs/promises';
import { AdminServiceClient, TargetServiceClient, clientChannelOptions, clientCredentials, type Role } from '@binhost/shared';
import { TEST_SERVER_NAME, type TestPki } from './pki.js';

/** Raw generated clients with a (role, name) certificate, for calling RPCs directly. */
export async function clientsFor(pki: TestPki, address: string, role: Role, name: string) {
  const f = await pki.files(role, name);
  const creds = clientCredentials({ ca: await readFile(f.ca), cert: await readFile(f.cert), key: await readFile(f.key) });
  const opts = clientChannelOptions({ serverName: TEST_SERVER_NAME });
  const admin = new AdminServiceClient(address, creds, opts);
  // the generated client on purpose: the host's FetchFile codec must stay readable by any protobuf client
  const target = new TargetServiceClient(address, creds, opts);
  return {
    admin,
    target,
    close() {
      admin.close();
      target.close();
    },
  };
}
