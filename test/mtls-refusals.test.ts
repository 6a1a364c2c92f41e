import { beforeEach, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { status, credentials } from '@grpc/grpc-js';
import {
  AdminServiceClient,
  callServerStream,
  callUnary,
  clientChannelOptions,
  clientCredentials,
  createCa,
  issueCertificate,
} from '@binhost/shared';
import type { ServiceError } from '@grpc/grpc-js';
import { useHarness } from './helpers/harness.js';
import { TEST_SERVER_NAME } from './helpers/pki.js';
import type { StartedHost } from './helpers/start-host.js';
import { clientsFor } from './helpers/clients.js';
import { captureLog } from './helpers/capture-log.js';
import { treeSnapshot } from './helpers/tree-snapshot.js';

const opts = clientChannelOptions({ serverName: TEST_SERVER_NAME });

async function codeOf(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('call succeeded but should have been refused');
}

describe('mutual TLS and authorization', () => {
  const h = useHarness();
  let host: StartedHost;
  let logs: ReturnType<typeof captureLog>;
  let before: Record<string, string>;

  beforeEach(async () => {
    logs = captureLog();
    host = await h.startHost({ log: logs.log });
    // a known target with stored state, so "nothing changed" has something to compare
    const alpha = await clientsFor(h.pki, host.address, 'target', 'alpha');
    await callUnary(alpha.target.register.bind(alpha.target), { agentVersion: 't', hostname: 'alpha', lastReportedDigest: '', installedSnapshotId: 0 });
    alpha.close();
    before = await treeSnapshot(host.stateDir);
  });

  async function expectHostUnchanged() {
    expect(await treeSnapshot(host.stateDir)).toEqual(before);
  }

  async function refusedHandshake(creds: ReturnType<typeof credentials.createSsl>) {
    const client = new AdminServiceClient(host.address, creds, opts);
    try {
      const { code } = await codeOf(callUnary(client.listTargets.bind(client), {}, { deadlineMs: 5000 }));
      expect(code).toBe(status.UNAVAILABLE);
    } finally {
      client.close();
    }
    await expectHostUnchanged();
  }

  it('refuses a client without a certificate', async () => {
    await refusedHandshake(credentials.createSsl(await readFile(`${h.pki.dir}/ca.pem`)));
  });

  it('refuses a certificate from another CA', async () => {
    const otherCa = await createCa({ commonName: 'someone else' });
    const cert = await issueCertificate({ ca: otherCa, role: 'admin', name: 'mallory' });
    await refusedHandshake(clientCredentials({ ca: Buffer.from(h.pki.ca.certPem), cert: Buffer.from(cert.certPem), key: Buffer.from(cert.keyPem) }));
  });

  it('refuses an expired certificate', async () => {
    const day = 86_400_000;
    const cert = await issueCertificate({ ca: h.pki.ca, role: 'admin', name: 'old', notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) });
    await refusedHandshake(clientCredentials({ ca: Buffer.from(h.pki.ca.certPem), cert: Buffer.from(cert.certPem), key: Buffer.from(cert.keyPem) }));
  });

  it('refuses a certificate that is not yet valid', async () => {
    const day = 86_400_000;
    const cert = await issueCertificate({ ca: h.pki.ca, role: 'admin', name: 'future', notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 10 * day) });
    await refusedHandshake(clientCredentials({ ca: Buffer.from(h.pki.ca.certPem), cert: Buffer.from(cert.certPem), key: Buffer.from(cert.keyPem) }));
  });

  it('refuses a host certificate used as a client (no clientAuth usage)', async () => {
    const f = await h.pki.files('host', 'other-host');
    await refusedHandshake(clientCredentials({ ca: await readFile(f.ca), cert: await readFile(f.cert), key: await readFile(f.key) }));
  });

  it('denies admin RPCs to a target certificate and logs who tried what', async () => {
    const beta = await clientsFor(h.pki, host.address, 'target', 'beta');
    try {
      const listed = await codeOf(callUnary(beta.admin.listTargets.bind(beta.admin), {}));
      expect(listed.code).toBe(status.PERMISSION_DENIED);
      const read = await codeOf(callUnary(beta.admin.getTarget.bind(beta.admin), { name: 'alpha' }));
      expect(read.code).toBe(status.PERMISSION_DENIED);
      expect(read.details).toBe('AdminService/GetTarget needs an admin certificate; target/beta may not call it');
    } finally {
      beta.close();
    }
    const denial = logs.lines().find((l) => l['msg'] === 'permission denied' && l['method'] === 'AdminService/GetTarget');
    expect(denial).toMatchObject({ caller: 'target/beta', required: 'admin' });
    await expectHostUnchanged();
  });

  it('denies target RPCs to an admin certificate', async () => {
    const admin = await clientsFor(h.pki, host.address, 'admin', 'root');
    try {
      const { code, details } = await codeOf(callUnary(admin.target.reportState.bind(admin.target), { state: undefined }));
      expect(code).toBe(status.PERMISSION_DENIED);
      expect(details).toBe('TargetService/ReportState needs a target certificate; admin/root may not call it');
    } finally {
      admin.close();
    }
    await expectHostUnchanged();
  });

  it('gives a target only its own event stream, named by its certificate', async () => {
    const beta = await clientsFor(h.pki, host.address, 'target', 'beta');
    try {
      const events = callServerStream(beta.target.openEvents.bind(beta.target), {}, { deadlineMs: 5000 });
      const first = await events.next();
      expect(first.value?.event).toMatchObject({ $case: 'hello', value: { targetName: 'beta' } });
      // an event for alpha never reaches beta's stream
      host.daemon.hub.publish('alpha', { $case: 'stateAccepted', value: { digest: 'sha256:alpha' } });
      host.daemon.hub.publish('beta', { $case: 'stateAccepted', value: { digest: 'sha256:beta' } });
      const second = await events.next();
      expect(second.value?.event).toEqual({ $case: 'stateAccepted', value: { digest: 'sha256:beta' } });
      await events.return(undefined);
    } finally {
      beta.close();
    }
  });

  it('tells the admin when a target opens a second event stream while one is open (two agents, one certificate)', async () => {
    const one = await clientsFor(h.pki, host.address, 'target', 'beta');
    const two = await clientsFor(h.pki, host.address, 'target', 'beta');
    const warned = () => logs.lines().filter((l) => l['msg'] === 'target opened another event stream while one is open: a reconnect, or two agents using the same certificate');
    try {
      const first = callServerStream(one.target.openEvents.bind(one.target), {}, { deadlineMs: 5000 });
      await first.next();
      expect(warned()).toEqual([]);
      const second = callServerStream(two.target.openEvents.bind(two.target), {}, { deadlineMs: 5000 });
      await second.next();
      expect(warned()).toEqual([expect.objectContaining({ target: 'beta', streams: 2 })]);
      await Promise.all([first.return(undefined), second.return(undefined)]);
    } finally {
      one.close();
      two.close();
    }
  });

  it('accepts a valid admin certificate (the control case)', async () => {
    const admin = await clientsFor(h.pki, host.address, 'admin', 'root');
    try {
      const res = await callUnary(admin.admin.listTargets.bind(admin.admin), {});
      expect(res.targets.map((t) => t.name)).toEqual(['alpha']);
    } finally {
      admin.close();
    }
  });
});

