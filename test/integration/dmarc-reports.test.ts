// DMARC aggregate reports (RFC 7489 7.2) end to end in process: inbound checks count evaluations, the reporter mails gzip'd XML.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { createRouter } from '../../src/delivery/router.js';
import { createMailResolver } from '../../src/dns/resolver.js';
import { createInboundChecks } from '../../src/inbound/checks.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createDmarcReporter } from '../../src/queue/dmarc-report-sender.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { type DnsFixture, startDnsFixture } from '../helpers/dns-fixture.js';

let dns: DnsFixture;
const dirs: string[] = [];
before(async () => {
  dns = await startDnsFixture({
    'sender.test': { txt: ['v=spf1 ip4:192.0.2.10 -all'] },
    '_dmarc.sender.test': {
      txt: ['v=DMARC1; p=reject; rua=mailto:Dmarc@reports.test,mailto:agg@sender.test!10m'],
    },
    // reports.test agrees to take sender.test's reports (RFC 7489 7.1); stranger.test does not.
    'sender.test._report._dmarc.reports.test': { txt: ['v=DMARC1'] },
    'other.test': { txt: ['v=spf1 ip4:192.0.2.10 -all'] },
    '_dmarc.other.test': { txt: ['v=DMARC1; p=none; rua=mailto:collect@stranger.test'] },
    'stranger.test': { a: ['192.0.2.200'] },
    'quiet.test': { txt: ['v=spf1 ip4:192.0.2.10 -all'] },
    '_dmarc.quiet.test': { txt: ['v=DMARC1; p=none'] },
  });
});
after(async () => {
  await dns.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup(dmarcReports: boolean): {
  store: SqliteStore;
  checks: ReturnType<typeof createInboundChecks>;
} {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-dmarcrpt-'));
  dirs.push(dir);
  const config = parseConfigText(
    `hostname = "mx.a.test"\ndata_dir = "data"\n[inbound]\ndmarc_reports = ${dmarcReports}\n`,
    { configPath: null, baseDir: dir, defaultHostname: 'mx.a.test' },
  );
  const store = openSqliteStore({ dataDir: config.dataDir });
  store.addDomain('a.test');
  const checks = createInboundChecks({
    settings: config.inbound,
    hostname: 'mx.a.test',
    resolver: createMailResolver({ servers: [dns.address], timeoutMs: 500, tries: 1 }),
    isLocalDomain: (d) => store.isLocalDomain(d),
    recordDmarc: (row) => store.dmarcReports.recordDmarcResult(row),
    now: () => new Date('2026-12-01T10:00:00Z'),
    random: () => 0,
  });
  return { store, checks };
}

async function receive(
  checks: ReturnType<typeof createInboundChecks>,
  from: string,
  ip: string,
): Promise<string> {
  const text = `From: <${from}>\r\nTo: <bob@a.test>\r\nSubject: hi\r\n\r\nHello.\r\n`;
  const verdict = await checks.checkMessage(
    { kind: 'memory', chunks: [Buffer.from(text)], size: text.length },
    { remoteAddress: ip, helo: 'client.test', sender: from },
  );
  return verdict.action.kind;
}

/** The XML inside a queued report message (base64 gzip attachment). */
function reportXml(message: string): string {
  const part = /Content-Type: application\/gzip[\s\S]*?\r\n\r\n([A-Za-z0-9+/=\r\n]+)\r\n--/.exec(message);
  assert.ok(part, 'an application/gzip part');
  return gunzipSync(Buffer.from(part[1]!.replace(/\r\n/g, ''), 'base64')).toString('utf8');
}

void describe('DMARC aggregate reports', () => {
  void test('counted per day, source and outcome; after the day one gzip XML report per authorized mailto rua', async () => {
    const { store, checks } = setup(true);
    assert.equal(await receive(checks, 'bob@sender.test', '192.0.2.10'), 'deliver');
    assert.equal(await receive(checks, 'bob@sender.test', '192.0.2.10'), 'deliver');
    assert.equal(await receive(checks, 'bob@sender.test', '192.0.2.99'), 'reject');
    assert.equal(await receive(checks, 'bob@other.test', '192.0.2.10'), 'deliver');
    assert.equal(await receive(checks, 'bob@quiet.test', '192.0.2.10'), 'deliver'); // no rua: not counted
    const rows = store.dmarcReports.dmarcResults('2026-12-01');
    assert.deepEqual(
      rows.map((r) => [r.policyDomain, r.sourceIp, r.disposition, r.spfAligned, r.count]),
      [
        ['other.test', '192.0.2.10', 'none', 'pass', 1],
        ['sender.test', '192.0.2.10', 'none', 'pass', 2],
        ['sender.test', '192.0.2.99', 'reject', 'fail', 1],
      ],
    );
    let ids = 0;
    let now = new Date('2026-12-01T23:00:00Z');
    const send = createDmarcReporter({
      store,
      hostname: 'mx.a.test',
      from: () => 'postmaster@a.test',
      resolver: createMailResolver({ servers: [dns.address], timeoutMs: 500, tries: 1 }),
      route: createRouter(store, { hostname: 'mx.a.test' }),
      logger: silentLogger(),
      now: () => now,
      newQueueId: () => `R${++ids}`,
      randomHex: () => 'abcd',
    });
    await send(); // the day is not over: nothing yet
    assert.equal(store.listQueue().length, 0);
    now = new Date('2026-12-02T00:30:00Z');
    await send();
    const queued = store.listQueue();
    // sender.test: both rua (one external and authorized, one in its own domain); other.test's stranger: none.
    assert.deepEqual(
      queued
        .map((q) => q.recipients.map((r) => r.address))
        .flat()
        .sort(),
      ['Dmarc@reports.test', 'agg@sender.test'],
    );
    const message = (await store.queue.readMessage(queued[0]!.id)).toString('latin1');
    assert.match(
      message,
      /^Subject: Report Domain: sender\.test Submitter: mx\.a\.test Report-ID: <2026-12-01\.abcd@mx\.a\.test>$/m,
    );
    assert.match(message, /filename="mx\.a\.test!sender\.test!1796083200!1796169599\.xml\.gz"/);
    const xml = reportXml(message);
    assert.match(xml, /<org_name>mx\.a\.test<\/org_name>/);
    assert.match(xml, /<date_range><begin>1796083200<\/begin><end>1796169599<\/end><\/date_range>/);
    assert.match(
      xml,
      /<policy_published>\s*<domain>sender\.test<\/domain>\s*<adkim>r<\/adkim>\s*<aspf>r<\/aspf>\s*<p>reject<\/p>/,
    );
    assert.match(
      xml,
      /<source_ip>192\.0\.2\.10<\/source_ip>\s*<count>2<\/count>\s*<policy_evaluated>\s*<disposition>none<\/disposition>\s*<dkim>fail<\/dkim>\s*<spf>pass<\/spf>/,
    );
    assert.match(
      xml,
      /<source_ip>192\.0\.2\.99<\/source_ip>\s*<count>1<\/count>\s*<policy_evaluated>\s*<disposition>reject<\/disposition>/,
    );
    assert.match(xml, /<header_from>sender\.test<\/header_from>/);
    assert.match(xml, /<spf><domain>sender\.test<\/domain><result>pass<\/result><\/spf>/);
    // Sent rows are gone; so are the unauthorized domain's.
    assert.deepEqual(store.dmarcReports.dmarcResultDaysBefore('2026-12-03'), []);
    await send();
    assert.equal(store.listQueue().length, 2);
    await store.close();
  });

  void test('off by default ([inbound] dmarc_reports = false): nothing is counted', async () => {
    const { store, checks } = setup(false);
    assert.equal(await receive(checks, 'bob@sender.test', '192.0.2.10'), 'deliver');
    assert.deepEqual(store.dmarcReports.dmarcResultDaysBefore('2026-12-03'), []);
    await store.close();
  });
});
