// Outbound TLS policy end to end: the queue delivers to a STARTTLS sink under MTA-STS (local HTTPS + test CA) and DANE (TLSA + AD bit).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { parseConfigText } from '../../src/config/load.js';
import { queueJson } from '../../src/cli/commands/queue-format.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startOutgoingQueue, type OutgoingQueue } from '../../src/queue/outgoing.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startDnsFixture, type DnsFixture } from '../helpers/dns-fixture.js';
import { makeTestCa, type TestCa, type TestCert } from '../helpers/test-ca.js';
import { startTlsSink, type SinkOptions, type TlsSink } from '../helpers/tls-sink.js';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let ca: TestCa;
let plainDns: DnsFixture;
let secureDns: DnsFixture;
let https: HttpsServer;
let httpsPort = 0;
let goodMx: TestCert;
let wrongName: TestCert;
/** Policy files served by the local HTTPS server, by Host. */
const policies = new Map<string, string>();
/** Policy fetches per Host (each test's domain is its own, so tests may run at once). */
const fetches = new Map<string, number>();

const spki = (pem: string): Buffer =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest();

before(async () => {
  ca = await makeTestCa();
  goodMx = await ca.issue(['mx.b.test', 'mx.c.test', 'mx.d.test', 'mx.f.test', 'mx1.g.test', 'mx2.g.test']);
  wrongName = await ca.issue(['elsewhere.test']);
  const policyCert = await ca.issue(['mta-sts.b.test', 'mta-sts.c.test', 'mta-sts.e.test', 'mta-sts.k.test']);
  https = createHttpsServer({ cert: policyCert.cert, key: policyCert.key }, (req, res) => {
    const host = (req.headers.host ?? '').split(':')[0] ?? '';
    fetches.set(host, (fetches.get(host) ?? 0) + 1);
    const body = policies.get(host);
    if (req.url !== '/.well-known/mta-sts.txt' || body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  const address = https.address();
  httpsPort = typeof address === 'object' && address ? address.port : 0;
  cleanups.push(() => new Promise<void>((resolve) => https.close(() => resolve())));
  const zone = {
    'b.test': { mx: [{ preference: 10, exchange: 'mx.b.test' }] },
    'mx.b.test': { a: ['127.0.0.1'] },
    '_mta-sts.b.test': { txt: ['v=STSv1; id=20261205'] },
    '_smtp._tls.b.test': { txt: ['v=TLSRPTv1; rua=mailto:tlsrpt@b.test,https://reports.b.test/v1'] },
    'mta-sts.b.test': { a: ['127.0.0.1'] },
    // k.test: b.test's MX and policy, for the one test that counts policy fetches.
    'k.test': { mx: [{ preference: 10, exchange: 'mx.b.test' }] },
    '_mta-sts.k.test': { txt: ['v=STSv1; id=20261205'] },
    'mta-sts.k.test': { a: ['127.0.0.1'] },
    'c.test': { mx: [{ preference: 10, exchange: 'mx.c.test' }] },
    'mx.c.test': { a: ['127.0.0.1'] },
    '_mta-sts.c.test': { txt: ['v=STSv1; id=1'] },
    'mta-sts.c.test': { a: ['127.0.0.1'] },
    'e.test': { mx: [{ preference: 10, exchange: 'mx.other.test' }] },
    'mx.other.test': { a: ['127.0.0.1'] },
    '_mta-sts.e.test': { txt: ['v=STSv1; id=1'] },
    'mta-sts.e.test': { a: ['127.0.0.1'] },
    'f.test': { mx: [{ preference: 10, exchange: 'mx.f.test' }] },
    'mx.f.test': { a: ['127.0.0.1'] },
    'd.test': { mx: [{ preference: 10, exchange: 'mx.d.test' }] },
    'mx.d.test': { a: ['127.0.0.1'] },
    // h.test: no MX, so the domain itself is the host (RFC 5321 5.1); its TLSA is set per test (sink port).
    'h.test': { a: ['127.0.0.1'] },
    // i.test: a secure MX RRset naming a host in an unsigned zone (its A records carry no AD bit).
    'i.test': { mx: [{ preference: 10, exchange: 'mx.i.unsigned.test' }] },
    'mx.i.unsigned.test': { a: ['127.0.0.1'], insecure: true },
    // g.test: two MX hosts on two loopback addresses, for REQUIRETLS's "try the next MX" (RFC 8689 4.2.1).
    'g.test': {
      mx: [
        { preference: 10, exchange: 'mx1.g.test' },
        { preference: 20, exchange: 'mx2.g.test' },
      ],
    },
    'mx1.g.test': { a: ['127.0.0.1'] },
    'mx2.g.test': { a: ['127.0.0.2'] },
  };
  policies.set('mta-sts.b.test', 'version: STSv1\r\nmode: enforce\r\nmx: mx.b.test\r\nmax_age: 86400\r\n');
  policies.set('mta-sts.k.test', 'version: STSv1\r\nmode: enforce\r\nmx: mx.b.test\r\nmax_age: 86400\r\n');
  policies.set('mta-sts.c.test', 'version: STSv1\nmode: testing\nmx: mx.c.test\nmax_age: 86400\n');
  policies.set('mta-sts.e.test', 'version: STSv1\nmode: enforce\nmx: *.e.test\nmax_age: 86400\n');
  plainDns = await startDnsFixture(zone);
  secureDns = await startDnsFixture(zone, { authenticated: true });
  cleanups.push(
    () => plainDns.close(),
    () => secureDns.close(),
  );
});

interface Rig {
  store: SqliteStore;
  queue: OutgoingQueue;
  sink: TlsSink;
  send(to: string, options?: { requireTls?: boolean; header?: string }): Promise<string>;
  /** Moves the queue's clock (TLS-RPT days). */
  advance(ms: number): void;
  /** The messages in alice@a.test's INBOX (DSNs come back there). */
  inbox(): Promise<string[]>;
  /** The recipient's row as `queue list --json` shows it, or null once delivered (gone from the queue). */
  row(id: string): { state: string; last_error: string | null } | null;
}

let seq = 0;
async function rig(sinkOptions: SinkOptions, dns: DnsFixture): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-tlspolicy-'));
  const sink = await startTlsSink(sinkOptions);
  // TLSA of the port the MX is reached on (outbound.port: the sink's here, 25 in real life; RFC 6698 3).
  dns.zone[`_${sink.port}._tcp.mx.d.test`] = {
    tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: spki(goodMx.cert) }],
  };
  const config = parseConfigText(
    `hostname = "mx.a.test"\ndata_dir = "data"\n[dns]\nservers = ["${dns.address}"]\n` +
      `[outbound]\nport = ${sink.port}\n[queue]\nretry_intervals = ["1s"]\n`,
    { configPath: null, baseDir: dir, defaultHostname: 'mx.a.test' },
  );
  const store = openSqliteStore({ dataDir: config.dataDir });
  store.addDomain('a.test');
  store.addAccount('alice@a.test', 'x');
  let ids = 0;
  let offset = 0;
  const queue = startOutgoingQueue({
    store,
    config,
    logger: silentLogger(),
    now: () => new Date(Date.now() + offset),
    newQueueId: () => `DSN${++ids}`,
    limits: { pollMs: 100 },
    tlsTrust: { ca: [ca.cert], stsPort: httpsPort },
  });
  cleanups.push(async () => {
    await queue.stop(1000);
    await store.close();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    store,
    queue,
    sink,
    async send(to, options = {}) {
      const queueId = `T${++seq}`;
      const body = `${options.header ?? ''}Subject: hello\r\n\r\nHello there.\r\n`;
      await store.deliver({
        queueId,
        envelope: { sender: 'alice@a.test', ...(options.requireTls ? { requireTls: true } : {}) },
        traceHeaders: 'Received: from client by mx.a.test; Mon, 23 Nov 2026 10:00:00 +0000\r\n',
        body: { kind: 'memory', chunks: [Buffer.from(body)], size: body.length },
        receivedAt: new Date(),
        local: [],
        remote: [{ address: to }],
      });
      return queueId;
    },
    advance(ms) {
      offset += ms;
    },
    async inbox() {
      const account = store.getAccount('alice@a.test');
      const box = account && store.getMailbox(account.id, 'INBOX');
      if (!box) return [];
      const out: string[] = [];
      for (const m of store.listMessages(box.id))
        out.push((await store.readMessage(m.messageId)).toString('utf8'));
      return out;
    },
    row(id) {
      const entry = (
        queueJson(store.listQueue()) as {
          id: string;
          recipients: { state: string; last_error: string | null }[];
        }[]
      ).find((e) => e.id === id);
      return entry?.recipients[0] ?? null;
    },
  };
}

async function until<T>(what: string, f: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const lastError = (r: Rig, id: string) => () => r.row(id)?.last_error ?? null;

// Each test has its own store, queue and sink: they run at once (the file stays a few seconds).
void describe('outbound TLS policy', { concurrency: true }, () => {
  void test('MTA-STS enforce: a certificate not naming the MX defers with "MTA-STS: ..."; the right one delivers', async () => {
    const r = await rig({ tls: wrongName }, plainDns);
    const id = await r.send('bob@k.test');
    const error = await until('a deferral', lastError(r, id));
    assert.match(error, /^MTA-STS: the certificate does not name mx\.b\.test/);
    assert.equal(r.sink.messages.length, 0);
    // The policy is cached in the store (RFC 8461 5.1), with its id and max_age.
    const cached = r.store.tlsPolicy.getStsPolicy('k.test');
    assert.equal(cached?.mode, 'enforce');
    assert.equal(cached?.id, '20261205');
    assert.deepEqual(cached?.mx, ['mx.b.test']);
    r.sink.options.tls = goodMx;
    await until('delivery', () => r.row(id) === null);
    assert.equal(r.sink.messages.length, 1);
    assert.equal(r.sink.messages[0]?.tls, true);
    // Retries used the cached policy: one fetch for the id (RFC 8461 3.3, 5.1).
    assert.equal(fetches.get('mta-sts.k.test'), 1);
  });

  void test('MTA-STS enforce: an MX host outside the policy is never tried', async () => {
    const r = await rig({ tls: goodMx }, plainDns);
    const id = await r.send('bob@e.test');
    const error = await until('a deferral', lastError(r, id));
    assert.match(error, /^MTA-STS: MX host mx\.other\.test is not in the policy of e\.test/);
    assert.equal(r.sink.messages.length, 0);
  });

  void test('MTA-STS enforce: a peer without STARTTLS defers', async () => {
    const r = await rig({}, plainDns);
    const id = await r.send('bob@b.test');
    const error = await until('a deferral', lastError(r, id));
    assert.match(error, /^MTA-STS: 4\.7\.10 peer does not offer STARTTLS/);
  });

  void test('MTA-STS testing: the wrong certificate still delivers (reported, not enforced)', async () => {
    const r = await rig({ tls: wrongName }, plainDns);
    const id = await r.send('bob@c.test');
    await until('delivery', () => r.row(id) === null);
    assert.equal(r.sink.messages.length, 1);
  });

  void test('DANE-EE: a certificate matching no TLSA record defers with "DANE: ..."; the right one delivers', async () => {
    const stranger = await generate([{ name: 'commonName', value: 'mx.d.test' }], { keyType: 'ec' });
    const r = await rig({ tls: { cert: stranger.cert, key: stranger.private } }, secureDns);
    const id = await r.send('bob@d.test');
    const error = await until('a deferral', lastError(r, id));
    assert.match(error, /^DANE: the peer certificate matches no TLSA record/);
    assert.equal(r.sink.messages.length, 0);
    // DANE-EE ignores names and issuers: the CA-signed certificate with the published key delivers.
    r.sink.options.tls = goodMx;
    await until('delivery', () => r.row(id) === null);
    assert.equal(r.sink.messages.length, 1);
  });

  void test('DANE: STARTTLS is mandatory when TLSA records are authenticated', async () => {
    const r = await rig({}, secureDns);
    const id = await r.send('bob@d.test');
    const error = await until('a deferral', lastError(r, id));
    assert.match(error, /^DANE: 4\.7\.10 peer does not offer STARTTLS/);
  });

  void test('DANE: TLSA records without the AD bit are ignored (opportunistic TLS delivers)', async () => {
    const stranger = await generate([{ name: 'commonName', value: 'mx.d.test' }], { keyType: 'ec' });
    const r = await rig({ tls: { cert: stranger.cert, key: stranger.private } }, plainDns);
    const id = await r.send('bob@d.test');
    await until('delivery', () => r.row(id) === null);
    assert.equal(r.sink.messages.length, 1);
  });

  void test('DANE without MX (RFC 7672 2.2.1): TLSA at _port._tcp.<domain> is enforced when its address records are secure', async () => {
    const stranger = await generate([{ name: 'commonName', value: 'h.test' }], { keyType: 'ec' });
    const r = await rig({ tls: { cert: stranger.cert, key: stranger.private } }, secureDns);
    secureDns.zone[`_${r.sink.port}._tcp.h.test`] = {
      tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: spki(goodMx.cert) }],
    };
    const id = await r.send('bob@h.test');
    const error = await until('a deferral', lastError(r, id));
    assert.match(error, /^DANE: the peer certificate matches no TLSA record/);
    assert.equal(r.sink.messages.length, 0);
    r.sink.options.tls = goodMx;
    await until('delivery', () => r.row(id) === null);
    assert.equal(r.sink.messages.length, 1);
  });

  void test('DANE (RFC 7672 2.2.2): an MX host with insecure address records gets no DANE (opportunistic TLS delivers)', async () => {
    const stranger = await generate([{ name: 'commonName', value: 'mx.i.unsigned.test' }], { keyType: 'ec' });
    const r = await rig({ tls: { cert: stranger.cert, key: stranger.private } }, secureDns);
    secureDns.zone[`_${r.sink.port}._tcp.mx.i.unsigned.test`] = {
      tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: spki(goodMx.cert) }],
    };
    const id = await r.send('bob@i.test');
    await until('delivery', () => r.row(id) === null);
    assert.equal(r.sink.messages.length, 1);
  });

  void test('TLS-Required: No (RFC 8689 5): an MTA-STS enforce failure does not stop the message', async () => {
    const r = await rig({ tls: wrongName }, plainDns);
    const id = await r.send('bob@b.test', { header: 'TLS-Required: No\r\n' });
    await until('delivery', () => r.row(id) === null);
    assert.equal(r.sink.messages.length, 1);
  });

  void test('REQUIRETLS: sent with the parameter over validated TLS to a peer offering it', async () => {
    const r = await rig({ tls: goodMx, extensions: ['REQUIRETLS'] }, plainDns);
    const id = await r.send('bob@f.test', { requireTls: true });
    await until('delivery', () => r.row(id) === null);
    assert.match(r.sink.messages[0]?.mailLine ?? '', / REQUIRETLS$/);
  });

  void test('REQUIRETLS: a peer without REQUIRETLS fails the message with a 5.7.30 DSN', async () => {
    const r = await rig({ tls: goodMx }, plainDns);
    await r.send('bob@f.test', { requireTls: true });
    const dsn = await until('a DSN', async () => (await r.inbox())[0]);
    assert.match(dsn, /Status: 5\.7\.30/);
    // RFC 8689 5: the DSN of a REQUIRETLS message returns the headers only.
    assert.match(dsn, /Content-Type: text\/rfc822-headers/);
    assert.doesNotMatch(dsn, /Hello there\./);
    assert.equal(r.sink.messages.length, 0);
  });

  void test('REQUIRETLS (RFC 8689 4.2.1): an MX without REQUIRETLS is passed over for the next MX, which takes the message', async () => {
    // mx1.g.test (127.0.0.1) is the rig's sink, without REQUIRETLS; mx2.g.test (127.0.0.2) offers it.
    const r = await rig({ tls: goodMx }, plainDns);
    const second = await startTlsSink(
      { tls: goodMx, extensions: ['REQUIRETLS'] },
      { host: '127.0.0.2', port: r.sink.port },
    );
    cleanups.push(() => second.close());
    const id = await r.send('bob@g.test', { requireTls: true });
    await until('delivery', () => r.row(id) === null);
    assert.equal(r.sink.messages.length, 0);
    assert.equal(second.messages.length, 1);
    assert.match(second.messages[0]?.mailLine ?? '', / REQUIRETLS$/);
    assert.deepEqual(await r.inbox(), []); // no DSN
  });

  void test('REQUIRETLS: an unvalidated certificate fails the message with 5.7.10', async () => {
    const r = await rig({ tls: wrongName, extensions: ['REQUIRETLS'] }, plainDns);
    await r.send('bob@f.test', { requireTls: true });
    const dsn = await until('a DSN', async () => (await r.inbox())[0]);
    assert.match(dsn, /Status: 5\.7\.10/);
    assert.equal(r.sink.messages.length, 0);
  });

  void test('TLS-RPT: the next day a gzip JSON report (RFC 8460 4.4) goes to the mailto rua with the 5.3 headers', async () => {
    const r = await rig({ tls: wrongName }, plainDns);
    const id = await r.send('bob@b.test');
    await until('a deferral', lastError(r, id));
    r.sink.options.tls = goodMx;
    await until('delivery', () => r.row(id) === null);
    // Nothing is reported for a day that is not over.
    await r.queue.sendTlsReports();
    assert.equal(r.store.listQueue().length, 0);
    r.advance(86_400_000);
    await r.queue.sendTlsReports();
    const report = await until('the report at the sink', () =>
      r.sink.messages.find((m) => m.data.includes('TLS-Report-Domain: b.test')),
    );
    assert.deepEqual(report.to, ['tlsrpt@b.test']);
    assert.match(report.mailLine, /^MAIL FROM:<postmaster@a\.test>/);
    assert.match(report.data, /^TLS-Report-Submitter: mx\.a\.test\r$/m);
    assert.match(report.data, /^Subject: Report Domain: b\.test Submitter: mx\.a\.test Report-ID: </m);
    assert.match(report.data, /multipart\/report; report-type="tlsrpt"/);
    const part = /Content-Type: application\/tlsrpt\+gzip\r\n[\s\S]*?\r\n\r\n([\s\S]*?)\r\n--/.exec(
      report.data,
    );
    assert.ok(part, 'an application/tlsrpt+gzip part');
    const json = JSON.parse(gunzipSync(Buffer.from(part[1] ?? '', 'base64')).toString('utf8')) as {
      'organization-name': string;
      'date-range': { 'start-datetime': string; 'end-datetime': string };
      policies: {
        policy: {
          'policy-type': string;
          'policy-domain': string;
          'mx-host': string[];
          'policy-string': string[];
        };
        summary: { 'total-successful-session-count': number; 'total-failure-session-count': number };
        'failure-details': {
          'result-type': string;
          'receiving-mx-hostname': string;
          'failed-session-count': number;
        }[];
      }[];
    };
    const day = new Date().toISOString().slice(0, 10);
    assert.deepEqual(json['date-range'], {
      'start-datetime': `${day}T00:00:00Z`,
      'end-datetime': `${day}T23:59:59Z`,
    });
    assert.equal(json['organization-name'], 'mx.a.test');
    const sts = json.policies.find((p) => p.policy['policy-type'] === 'sts');
    assert.ok(sts);
    assert.equal(sts.policy['policy-domain'], 'b.test');
    assert.deepEqual(sts.policy['mx-host'], ['mx.b.test']);
    assert.ok(sts.policy['policy-string'].includes('mode: enforce'));
    assert.equal(sts.summary['total-successful-session-count'], 1);
    assert.ok(sts.summary['total-failure-session-count'] >= 1);
    assert.equal(sts['failure-details'][0]?.['result-type'], 'certificate-host-mismatch');
    assert.equal(sts['failure-details'][0]?.['receiving-mx-hostname'], 'mx.b.test');
    // The day's counts are gone once reported: a second run sends nothing more.
    assert.deepEqual(r.store.tlsPolicy.tlsResultDaysBefore('9999-12-31').includes(day), false);
  });
});
