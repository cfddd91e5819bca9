// Test helper: a throwaway certificate authority and certificates it signs (selfsigned, EC keys for speed).
import { generate } from 'selfsigned';

export interface TestCert {
  cert: string;
  key: string;
}

export interface TestCa extends TestCert {
  /** A certificate for these DNS names signed by this CA (validity around `now`, or the dates given). */
  issue(names: string[], dates?: { notBefore: Date; notAfter: Date }): Promise<TestCert>;
}

const DAY = 86_400_000;

export async function makeTestCa(commonName = 'Mailroom Test CA'): Promise<TestCa> {
  const now = Date.now();
  const ca = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - DAY),
    notAfterDate: new Date(now + 30 * DAY),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const self: TestCa = {
    cert: ca.cert,
    key: ca.private,
    async issue(names, dates) {
      const leaf = await generate([{ name: 'commonName', value: names[0] ?? 'localhost' }], {
        keyType: 'ec',
        algorithm: 'sha256',
        notBeforeDate: dates?.notBefore ?? new Date(now - DAY),
        notAfterDate: dates?.notAfter ?? new Date(now + 30 * DAY),
        ca: { key: ca.private, cert: ca.cert },
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true },
          { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2, value })) },
        ],
      });
      return { cert: leaf.cert, key: leaf.private };
    },
  };
  return self;
}
