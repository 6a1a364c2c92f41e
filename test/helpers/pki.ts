import { join } from 'node:path';
import { createCa, issueCertificate, pkiPaths, writeCertifiedKey, type CertifiedKey, type Role } from '@binhost/shared';

/** The DNS name in test host certificates; clients check it via ssl_target_name_override. */
export const TEST_SERVER_NAME = 'binhost.test';

/** A PKI made with the product's own pki code in a temp dir. */
export interface TestPki {
  dir: string;
  ca: CertifiedKey;
  /** Paths of a certificate and key for (role, name), issuing it on first use. */
  files(role: Role, name: string): Promise<{ ca: string; cert: string; key: string }>;
}

export async function makePki(dir: string): Promise<TestPki> {
  const ca = await createCa();
  await writeCertifiedKey(pkiPaths.caCert(dir), pkiPaths.caKey(dir), ca);
  const issued = new Set<string>();
  return {
    dir,
    ca,
    async files(role, name) {
      const cert = pkiPaths.cert(dir, role, name);
      const key = pkiPaths.key(dir, role, name);
      if (!issued.has(`${role}/${name}`)) {
        const sans = role === 'host' ? [TEST_SERVER_NAME, 'localhost'] : undefined;
        await writeCertifiedKey(cert, key, await issueCertificate({ ca, role, name, ...(sans ? { sans } : {}) }));
        issued.add(`${role}/${name}`);
      }
      return { ca: join(dir, 'ca.pem'), cert, key };
    },
  };
}
