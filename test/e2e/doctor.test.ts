// `mailroom doctor` as a user runs it: the configured resolver ([dns] servers), JSON and text output, exit status.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/mailroom-process.js';
import { type DnsFixture, startDnsFixture } from '../helpers/dns-fixture.js';

let dir: string;
let configPath: string;
let dns: DnsFixture;

const run = (args: string[]) => runCli(args, configPath);

before(async () => {
  dns = await startDnsFixture({
    'example.test': { mx: [{ preference: 10, exchange: 'mx.example.test' }], txt: ['v=spf1 mx -all'] },
    'mx.example.test': { a: ['192.0.2.25'] },
    '25.2.0.192.in-addr.arpa': { ptr: ['mx.example.test'] },
  });
  dir = mkdtempSync(join(tmpdir(), 'mailroom-doctor-'));
  configPath = join(dir, 'mailroom.toml');
  writeFileSync(
    configPath,
    `hostname = "mx.example.test"\ndata_dir = "data"\n[dns]\nservers = ["${dns.address}"]\n`,
  );
  assert.equal((await run(['domain', 'add', 'example.test'])).status, 0);
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dns.close();
});

test('doctor --json: per record ok / missing, through [dns] servers; exit 1 while something needs attention', async () => {
  const result = await run(['doctor', 'example.test', '--json']);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /^mailroom: doctor: \d+ of \d+ records need attention\n$/);
  const records = JSON.parse(result.stdout) as { record: string; status: string; publish: string[] }[];
  const status = Object.fromEntries(records.map((r) => [r.record, r.status]));
  assert.equal(status.MX, 'ok');
  assert.equal(status.SPF, 'ok');
  assert.equal(status.PTR, 'ok');
  assert.equal(status.DMARC, 'missing');
  assert.equal(status['TLS-RPT'], 'missing');
  assert.deepEqual(records.find((r) => r.record === 'DMARC')?.publish, [
    '_dmarc.example.test. IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test"',
  ]);
  assert.ok(dns.count('_dmarc.example.test', 'TXT') > 0, 'asked the configured server');
});

test('doctor text output names each record; a domain that is not local is refused', async () => {
  const text = await run(['doctor', 'example.test']);
  assert.match(text.stdout, /^ok {6}MX {7}example\.test: points at mx\.example\.test$/m);
  assert.match(text.stdout, /^missing DMARC {4}_dmarc\.example\.test: /m);
  const other = await run(['doctor', 'elsewhere.test']);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /elsewhere\.test is not a local domain/);
});

test('doctor checks the key `dkim generate` made: missing until its record is published, then ok', async () => {
  const generated = await run([
    'dkim',
    'generate',
    'example.test',
    '--selector',
    'doc1',
    '--algorithm',
    'ed25519',
  ]);
  assert.equal(generated.status, 0, generated.stderr);
  const line = generated.stdout.split('\n')[0] ?? '';
  const txt = /IN TXT "(.*)"$/.exec(line)?.[1] ?? '';
  assert.match(txt, /^v=DKIM1; k=ed25519; p=/);
  const before = JSON.parse((await run(['doctor', 'example.test', '--json'])).stdout) as {
    record: string;
    name: string;
    status: string;
    publish: string[];
  }[];
  const dkim = before.find((r) => r.record === 'DKIM');
  assert.equal(dkim?.status, 'missing');
  assert.deepEqual(dkim?.publish, [`doc1._domainkey.example.test. IN TXT "${txt}"`]);
  dns.zone['doc1._domainkey.example.test'] = { txt: [txt] };
  const after = JSON.parse((await run(['doctor', 'example.test', '--json'])).stdout) as typeof before;
  assert.equal(after.find((r) => r.record === 'DKIM')?.status, 'ok');
});
