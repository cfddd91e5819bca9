// loadTls with a preferred pair (the ACME certificate in data_dir/acme): served when usable, else the [tls] or self-signed one as before.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { loadTls } from '../../../src/net/tls.js';

const now = new Date('2026-12-05T12:00:00Z');
const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'mailroom-tls-preferred-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function pair(
  name: string,
  from: number,
  days: number,
): Promise<{ certPath: string; keyPath: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'mx.test' }], {
    keyType: 'rsa',
    keySize: 1024,
    notBeforeDate: new Date(from),
    notAfterDate: new Date(from + days * DAY),
  });
  const certPath = join(dir, `${name}-cert.pem`);
  const keyPath = join(dir, `${name}-key.pem`);
  writeFileSync(certPath, pems.cert);
  writeFileSync(keyPath, pems.private);
  return { certPath, keyPath, key: pems.private };
}

test('a usable preferred pair is served; absent, expired or mismatched, the self-signed one is', async () => {
  const dataDir = join(dir, 'data');
  const good = await pair('good', now.getTime() - DAY, 90);
  const expired = await pair('expired', now.getTime() - 100 * DAY, 90);
  const other = await pair('other', now.getTime() - DAY, 90);
  const base = { configured: null, dataDir, hostname: 'mx.test', now };

  const used = await loadTls({ ...base, preferred: { certPath: good.certPath, keyPath: good.keyPath } });
  assert.equal(used.certPath, good.certPath);
  assert.equal(used.selfSigned, false);

  const rows: [string, { certPath: string; keyPath: string }][] = [
    ['absent', { certPath: join(dir, 'none.pem'), keyPath: join(dir, 'none-key.pem') }],
    ['expired', { certPath: expired.certPath, keyPath: expired.keyPath }],
    ['key of another certificate', { certPath: good.certPath, keyPath: other.keyPath }],
  ];
  for (const [name, preferred] of rows) {
    const material = await loadTls({ ...base, preferred });
    assert.equal(material.selfSigned, true, name);
    assert.equal(material.certPath, join(dataDir, 'tls', 'cert.pem'), name);
  }
});

test('the preferred pair also wins over a configured [tls] pair, which serves until it exists', async () => {
  const configured = await pair('configured', now.getTime() - DAY, 365);
  const acme = await pair('acme', now.getTime() - DAY, 90);
  const base = {
    configured: { certPath: configured.certPath, keyPath: configured.keyPath },
    dataDir: dir,
    hostname: 'mx.test',
    now,
  };
  const before = await loadTls({
    ...base,
    preferred: { certPath: join(dir, 'missing.pem'), keyPath: join(dir, 'missing-key.pem') },
  });
  assert.equal(before.certPath, configured.certPath);
  const afterIssue = await loadTls({
    ...base,
    preferred: { certPath: acme.certPath, keyPath: acme.keyPath },
  });
  assert.equal(afterIssue.certPath, acme.certPath);
});
