import { beforeEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { credentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { clientChannelOptions, clientCredentials, callUnary } from '@binhost/shared';

import { useHarness } from './helpers/harness.js';
import { TEST_SERVER_NAME } from './helpers/pki.js';
import type { StartedHost } from './helpers/start-host.js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';

// Test-only: a generic client for grpc.health.v1 and grpc.reflection.v1, built from the proto files
// the libraries ship, the way grpcurl or a load balancer would talk to the host.
const require = createRequire(import.meta.url);

describe('health checking and reflection', () => {
  const h = useHarness();
  let host: StartedHost;

  beforeEach(async () => {
    host = await h.startHost();
  });

  async function creds() {
    const f = await h.pki.files('admin', 'probe');
    return clientCredentials({ ca: await readFile(f.ca), cert: await readFile(f.cert), key: await readFile(f.key) });
  }

  it('reports SERVING for the server and both API services', async () => {
    const healthProto = require.resolve('grpc-health-check/proto/health/v1/health.proto');
    const def = loadPackageDefinition(protoLoader.loadSync(healthProto, { enums: String })) as GrpcObject;
    const Health = ((def['grpc'] as GrpcObject)['health'] as GrpcObject)['v1'] as GrpcObject;
    const Client = Health['Health'] as ServiceClientConstructor;
    const client = new Client(host.address, await creds(), clientChannelOptions({ serverName: TEST_SERVER_NAME }));
    try {
      for (const service of ['', 'binhost.agent.v1.TargetService', 'binhost.agent.v1.AdminService']) {
        const res = await callUnary<{ service: string }, { status: string }>((client as any).check.bind(client), { service });
        expect(res.status).toBe('SERVING');
      }
    } finally {
      client.close();
    }
  });

  it('lists our services over reflection, and refuses callers without a certificate', async () => {
    const reflectionProto = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const def = loadPackageDefinition(protoLoader.loadSync(reflectionProto)) as GrpcObject;
    const ns = ((def['grpc'] as GrpcObject)['reflection'] as GrpcObject)['v1'] as GrpcObject;
    const Client = ns['ServerReflection'] as ServiceClientConstructor;
    const client = new Client(host.address, await creds(), clientChannelOptions({ serverName: TEST_SERVER_NAME }));
    try {
      const call = (client as any).serverReflectionInfo({ deadline: new Date(Date.now() + 5000) });
      const answer = new Promise<any>((resolve, reject) => {
        call.on('data', resolve);
        call.on('error', reject);
      });
      call.write({ listServices: '' });
      const res = await answer;
      call.end();
      const names = res.listServicesResponse.service.map((s: { name: string }) => s.name);
      expect(names).toEqual(expect.arrayContaining(['binhost.agent.v1.TargetService', 'binhost.agent.v1.AdminService']));
    } finally {
      client.close();
    }
    const anonymous = new Client(host.address, credentials.createSsl(await readFile(`${h.pki.dir}/ca.pem`)), clientChannelOptions({ serverName: TEST_SERVER_NAME }));
    try {
      const call = (anonymous as any).serverReflectionInfo({ deadline: new Date(Date.now() + 5000) });
      const err = await new Promise<any>((resolve) => {
        call.on('error', resolve);
        call.on('data', () => resolve(undefined));
        call.write({ listServices: '' });
      });
      expect(err?.code).toBe(14);
    } finally {
      anonymous.close();
    }
  });
});
