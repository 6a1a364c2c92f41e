// A PKI for benchmarks, made with the product's own pki code.
import { createCa, issueCertificate, pkiPaths, writeCertifiedKey } from '@binhost/shared';

export async function makeBenchPki(dir) {
  const ca = await createCa();
  await writeCertifiedKey(pkiPaths.caCert(dir), pkiPaths.caKey(dir), ca);
  return {
    ca,
    async issue(role, name) {
      const sans = role === 'host' ? ['binhost.bench'] : undefined;
      const pair = await issueCertificate({ ca, role, name, ...(sans ? { sans } : {}) });
      await writeCertifiedKey(pkiPaths.cert(dir, role, name), pkiPaths.key(dir, role, name), pair);
      return { ca: pkiPaths.caCert(dir), cert: pkiPaths.cert(dir, role, name), key: pkiPaths.key(dir, role, name), pair };
    },
  };
}
