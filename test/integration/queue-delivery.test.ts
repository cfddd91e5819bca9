// The outgoing queue in process: a real SQLite store, the scheduler, the SMTP client, scripted peers and a test DNS server.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { queueJson } from '../../src/cli/commands/queue-format.js';
import { decodeTransferEncoding } from '../../src/mail/transfer-encoding.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startOutgoingQueue, type OutgoingQueue } from '../../src/queue/outgoing.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Envelope, EnvelopeRecipient } from '../../src/store/store.js';
import { startDnsFixture } from '../helpers/dns-fixture.js';
import { startPeer, type PeerScript, type ScriptedPeer } from './queue-peer.js';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Rig {
  store: SqliteStore;
  queue: OutgoingQueue;
  peer: ScriptedPeer;
  send(
    to: (string | EnvelopeRecipient)[],
    body?: string,
    sender?: string,
    dsn?: Omit<Envelope, 'sender'>,
  ): Promise<string>;
  inbox(address: string): Promise<string[]>;
}

let seq = 0;
async function rig(script: PeerScript, toml: (peerPort: number) => string, start = true): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-queue-'));
  const peer = await startPeer(script);
  const config = parseConfigText(`hostname = "mx.a.test"\ndata_dir = "data"\n${toml(peer.port)}`, {
    configPath: null,
    baseDir: dir,
    defaultHostname: 'mx.a.test',
  });
  const store = openSqliteStore({ dataDir: config.dataDir });
  store.addDomain('a.test');
  store.addAccount('alice@a.test', 'x');
  let ids = 0;
  let queue: OutgoingQueue | null = null;
  const startQueue = () =>
    (queue = startOutgoingQueue({
      store,
      config,
      logger: silentLogger(),
      now: () => new Date(),
      newQueueId: () => `DSN${++ids}`,
      limits: { pollMs: 100 },
    }));
  if (start) startQueue();
  cleanups.push(async () => {
    await queue?.stop(1000);
    await store.close();
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const r: Rig = {
    store,
    get queue() {
      return queue ?? startQueue();
    },
    peer,
    async send(to, body = 'Subject: hello\r\n\r\nHello there.\r\n', sender = 'alice@a.test', dsn = {}) {
      const queueId = `Q${++seq}`;
      await store.deliver({
        queueId,
        envelope: { sender, ...dsn },
        traceHeaders: 'Received: from client by mx.a.test; Mon, 23 Nov 2026 10:00:00 +0000\r\n',
        body: { kind: 'memory', chunks: [Buffer.from(body, 'utf8')], size: Buffer.byteLength(body) },
        receivedAt: new Date(),
        local: [],
        remote: to.map((t) => (typeof t === 'string' ? { address: t } : t)),
      });
      return queueId;
    },
    async inbox(address) {
      const account = store.getAccount(address);
      const box = account && store.getMailbox(account.id, 'INBOX');
      if (!box) return [];
      const out: string[] = [];
      for (const m of store.listMessages(box.id))
        out.push((await store.readMessage(m.messageId)).toString('utf8'));
      return out;
    },
  };
  return r;
}

async function until<T>(what: string, f: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const route = (port: number) => `[outbound]\nroutes = { "b.test" = "127.0.0.1:${port}" }\n`;
const fast = '[queue]\nretry_intervals = ["1s"]\n';

/** The delivery-status part's blocks as maps (RFC 3464 2.1: per-message fields, then per-recipient). */
function statusBlocks(dsn: string): Map<string, string>[] {
  const m = /Content-Type: message\/delivery-status\r\n\r\n([\s\S]*?)\r\n--/.exec(dsn);
  assert.ok(m, 'a message/delivery-status part');
  return (m[1] ?? '')
    .trim()
    .split(/\r\n\r\n/)
    .map((block) => {
      const fields = new Map<string, string>();
      for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
        const i = line.indexOf(':');
        fields.set(line.slice(0, i), line.slice(i + 1).trim());
      }
      return fields;
    });
}

void describe('outgoing queue', () => {
  void test('a "*" smarthost with route_auth: AUTH PLAIN with the configured credentials, then delivery', async () => {
    const token = Buffer.from('\0relay@a.test\0s3cret', 'utf8').toString('base64');
    const r = await rig(
      {
        extensions: ['PIPELINING', '8BITMIME', 'AUTH PLAIN LOGIN', 'ENHANCEDSTATUSCODES'],
        auth: (line) => (line === `AUTH PLAIN ${token}` ? '235 2.7.0 ok' : '535 5.7.8 no'),
        mail: (_from, session) =>
          r.peer.transcript.some((l) => l.startsWith(`S${session}: 235`)) ? '250 ok' : '530 5.7.0 auth first',
      },
      (p) =>
        `[outbound]\nroutes = { "*" = "127.0.0.1:${p}" }\n` +
        // Plaintext only because this peer is on loopback without TLS.
        '[outbound.route_auth."*"]\nusername = "relay@a.test"\npassword = "s3cret"\nplaintext = true\n',
    );
    await r.send(['someone@anywhere.example']);
    await until('delivery through the smarthost', () => r.peer.messages.length === 1);
    assert.ok(r.peer.transcript.includes(`C1: AUTH PLAIN ${token}`), r.peer.transcript.join('\n'));
  });

  void test('a body line over 998 octets (accepted up to 64 KiB) is relayed re-encoded: no line over 998, same text', async () => {
    const r = await rig({}, route);
    const long = 'z'.repeat(5000);
    await r.send(['bob@b.test'], `Subject: long\r\n\r\nstart\r\n${long}\r\nend\r\n`);
    await until('delivery', () => r.peer.messages.length === 1);
    const data = r.peer.messages[0]!.data.toString('latin1');
    for (const line of data.split('\r\n'))
      assert.ok(line.length <= 998, `a line of ${line.length} octets went out`);
    assert.match(data, /\r\nContent-Transfer-Encoding: quoted-printable\r\n/);
    assert.equal(data.replace(/=\r\n/g, '').includes(`start\r\n${long}\r\nend`), true);
    const mail = r.peer.transcript.find((l) => l.startsWith('C1: MAIL FROM:')) ?? '';
    const size = /SIZE=(\d+)/.exec(mail)?.[1];
    if (size) assert.equal(Number(size), r.peer.messages[0]!.data.length, 'SIZE= is that of the bytes sent');
  });

  void test('a smarthost refusing our credentials (535): deferred, not bounced', async () => {
    const r = await rig(
      { extensions: ['PIPELINING', 'AUTH PLAIN'], auth: () => '535 5.7.8 bad credentials' },
      (p) =>
        `[outbound]\nroutes = { "*" = "127.0.0.1:${p}" }\n` +
        '[outbound.route_auth."*"]\nusername = "relay@a.test"\npassword = "wrong"\nplaintext = true\n',
    );
    await r.send(['someone@anywhere.example']);
    const entry = await until('a deferral', () => {
      const e = r.store.queue.list()[0];
      return e?.recipients[0]?.state === 'deferred' ? e : null;
    });
    assert.match(entry.recipients[0]?.lastError ?? '', /535/);
    assert.equal(r.peer.messages.length, 0);
  });

  void test('a peer answering 4xx twice, then accepting: delivered on the third attempt; the listing shows attempts and last error', async () => {
    // Counted per attempt (RCPT), not per session: a retry may reuse the idle connection (connection-pool.ts).
    let attempts = 0;
    const r = await rig(
      { rcpt: () => (++attempts <= 2 ? '451 4.3.0 try again later' : '250 2.1.5 ok') },
      (p) => route(p) + fast,
    );
    const id = await r.send(['bob@b.test']);
    const deferred = await until('first deferral', () => {
      const e = queueJson(r.store.queue.list())[0] as
        | { recipients: { state: string; attempts: number; last_error: string; next_attempt_at: string }[] }
        | undefined;
      return e?.recipients[0]?.state === 'deferred' ? e : null;
    });
    assert.equal(deferred.recipients[0]?.attempts, 1);
    assert.equal(deferred.recipients[0]?.last_error, '451 4.3.0 try again later');
    assert.match(deferred.recipients[0]?.next_attempt_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await until('delivery', () => r.peer.messages.length === 1);
    await until('retirement', () => r.store.queue.get(id) === null);
    assert.equal(attempts, 3);
    assert.deepEqual(r.peer.messages[0]?.to, ['bob@b.test']);
    assert.match(r.peer.messages[0]?.data.toString() ?? '', /^Received: from client by mx\.a\.test/);
    assert.deepEqual(await r.inbox('alice@a.test'), [], 'no DSN for a delivery');
  });

  void test('5xx to one of two recipients: one delivered, one DSN in the sender INBOX, field by field', async () => {
    const r = await rig(
      { rcpt: (a) => (a === 'nobody@b.test' ? '550 5.1.1 no such user' : '250 2.1.5 ok') },
      route,
    );
    const id = await r.send(['bob@b.test', { address: 'nobody@b.test', orcpt: 'rfc822;nobody@b.test' }]);
    const [dsn] = await until('the DSN', async () => {
      const box = await r.inbox('alice@a.test');
      return box.length > 0 ? box : null;
    });
    await until('retirement', () => r.store.queue.get(id) === null);
    assert.equal(r.peer.messages.length, 1);
    assert.deepEqual(r.peer.messages[0]?.to, ['bob@b.test']);
    assert.ok(dsn);
    assert.match(dsn, /^Return-Path: <>\r\n/, 'null sender (RFC 3461 6.2)');
    assert.match(dsn, /\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx\.a\.test>\r\n/);
    assert.match(dsn, /\r\nTo: <alice@a\.test>\r\n/);
    assert.match(dsn, /\r\nSubject: Undelivered Mail Returned to Sender\r\n/);
    assert.match(dsn, /\r\nAuto-Submitted: auto-replied\r\n/);
    assert.match(dsn, /Content-Type: multipart\/report; report-type=delivery-status;/);
    const [perMessage, rcpt, extra] = statusBlocks(dsn);
    assert.equal(extra, undefined, 'only the failed recipient is reported');
    assert.equal(perMessage?.get('Reporting-MTA'), 'dns; mx.a.test');
    assert.ok(perMessage?.get('Arrival-Date'));
    assert.equal(rcpt?.get('Original-Recipient'), 'rfc822; nobody@b.test');
    assert.equal(rcpt?.get('Final-Recipient'), 'rfc822; nobody@b.test');
    assert.equal(rcpt?.get('Action'), 'failed');
    assert.equal(rcpt?.get('Status'), '5.1.1');
    assert.equal(rcpt?.get('Remote-MTA'), 'dns; 127.0.0.1');
    assert.equal(rcpt?.get('Diagnostic-Code'), 'smtp; 550 5.1.1 no such user');
    assert.ok(rcpt?.get('Last-Attempt-Date'));
    assert.match(
      dsn,
      /Content-Type: message\/rfc822\r\n\r\nReceived: from client by mx\.a\.test[\s\S]*Hello there\./,
    );
  });

  void test('5xx at two domains, one answering later: one DSN about both recipients, not one per domain', async () => {
    // c.test's peer is slow to greet, so its attempt is still running when b.test's 550 is recorded.
    const slow = await startPeer({ rcpt: () => '550 5.1.1 no such user', greetDelayMs: 400 });
    cleanups.push(() => slow.close());
    const r = await rig(
      { rcpt: () => '550 5.1.1 no such user' },
      (port) =>
        `[outbound]\nroutes = { "b.test" = "127.0.0.1:${port}", "c.test" = "127.0.0.1:${slow.port}" }\n`,
    );
    const id = await r.send(['nobody@b.test', 'nobody@c.test']);
    await until('retirement', () => r.store.queue.get(id) === null);
    const box = await until('the DSN', async () => {
      const b = await r.inbox('alice@a.test');
      return b.length > 0 ? b : null;
    });
    // Give a second DSN, if one were coming, the time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await r.inbox('alice@a.test')).length, 1, 'one DSN');
    const [, first, second] = statusBlocks(box[0] ?? '');
    assert.deepEqual([first?.get('Final-Recipient'), second?.get('Final-Recipient')].sort(), [
      'rfc822; nobody@b.test',
      'rfc822; nobody@c.test',
    ]);
  });

  void test('a dead peer until max_age: the recipient expires and the sender gets one DSN', async () => {
    const r = await rig(
      {},
      () =>
        '[outbound]\nroutes = { "b.test" = "127.0.0.1:1" }\n[queue]\nretry_intervals = ["1s"]\nmax_age = "3s"\n',
    );
    const id = await r.send(['bob@b.test']);
    const [dsn] = await until(
      'the expiry DSN',
      async () => {
        const box = await r.inbox('alice@a.test');
        return box.length > 0 ? box : null;
      },
      15_000,
    );
    await until('retirement', () => r.store.queue.get(id) === null);
    const [, rcpt] = statusBlocks(dsn ?? '');
    assert.equal(rcpt?.get('Action'), 'failed');
    assert.equal(rcpt?.get('Status'), '4.4.7');
    assert.match(rcpt?.get('Diagnostic-Code') ?? '', /^X-Mailroom; connection lost: .*ECONNREFUSED/);
    assert.equal(rcpt?.get('Remote-MTA'), undefined, 'no peer said anything');
    assert.equal((await r.inbox('alice@a.test')).length, 1, 'exactly one DSN');
  });

  void test('a peer without 8BITMIME gets a 7-bit message whose decoded content equals the original', async () => {
    const r = await rig({ extensions: ['PIPELINING', 'SIZE 1000000'] }, route);
    const text = 'Grüße aus Köln – ½ € für alle.\r\nZweite Zeile: ÄÖÜ ß\r\n';
    const body = `Subject: 8bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}`;
    await r.send(['bob@b.test'], body);
    await until('delivery', () => r.peer.messages.length === 1);
    const got = r.peer.messages[0]?.data ?? Buffer.alloc(0);
    assert.ok(
      got.every((b) => b < 0x80),
      'every octet is 7-bit',
    );
    assert.ok(
      !r.peer.transcript.some((l) => /BODY=8BITMIME/.test(l)),
      'no BODY=8BITMIME to a peer without it',
    );
    const s = got.toString('latin1');
    const cte = /Content-Transfer-Encoding: (\S+)/i.exec(s)?.[1] ?? '';
    assert.match(cte, /^(quoted-printable|base64)$/i);
    const content = decodeTransferEncoding(Buffer.from(s.slice(s.indexOf('\r\n\r\n') + 4), 'latin1'), cte);
    assert.equal(content.toString('utf8'), text);
  });

  void test('MX from the test DNS server; several messages for one domain share one connection', async () => {
    const dns = await startDnsFixture({
      'c.test': { mx: [{ preference: 10, exchange: 'mx.c.test' }] },
      'mx.c.test': { a: ['127.0.0.1'] },
    });
    cleanups.push(() => dns.close());
    const r = await rig(
      { extensions: ['PIPELINING', '8BITMIME', 'DSN'] },
      (p) => `[outbound]\nport = ${p}\n[dns]\nservers = ["${dns.address}"]\n`,
      false,
    );
    await r.send(['one@c.test', 'two@c.test']);
    await r.send(['three@c.test']);
    await r.send(['four@c.test']);
    void r.queue; // starts the scheduler with all three queued
    await until('three deliveries', () => r.peer.messages.length === 3);
    assert.equal(r.peer.sessions, 1, 'one connection');
    // Queue ids made in the same millisecond do not sort by arrival: the order on the connection is not the point.
    assert.deepEqual(r.peer.messages.map((m) => m.to.join(',')).sort(), [
      'four@c.test',
      'one@c.test,two@c.test',
      'three@c.test',
    ]);
    assert.ok(dns.count('c.test', 'MX') > 0, 'MX was asked');
    await until('empty queue', () => r.store.queue.list().length === 0);
  });

  void test('a domain that does not exist (NXDOMAIN): failed at once, DSN Status 5.1.2 (RFC 3463), no Remote-MTA', async () => {
    const dns = await startDnsFixture({});
    cleanups.push(() => dns.close());
    const r = await rig({}, () => `[dns]\nservers = ["${dns.address}"]\n`);
    await r.send(['someone@nowhere.test']);
    const [dsn] = await until('the DSN', async () => {
      const box = await r.inbox('alice@a.test');
      return box.length > 0 ? box : null;
    });
    const block = statusBlocks(dsn ?? '')[1];
    assert.equal(block?.get('Action'), 'failed');
    assert.equal(block?.get('Status'), '5.1.2');
    assert.match(
      block?.get('Diagnostic-Code') ?? '',
      /^X-Mailroom; 550 5\.1\.2 domain nowhere\.test does not exist/,
    );
    assert.equal(block?.get('Remote-MTA'), undefined);
    assert.equal(r.peer.sessions, 0);
  });

  void test('NOTIFY=SUCCESS to a peer without DSN: a "relayed" DSN; NOTIFY=NEVER on a 5xx: none', async () => {
    const r = await rig({ rcpt: (a) => (a.startsWith('bad') ? '550 5.1.1 no' : '250 ok') }, route);
    await r.send([
      { address: 'good@b.test', notify: ['SUCCESS'] },
      { address: 'bad@b.test', notify: ['NEVER'] },
    ]);
    const [dsn] = await until('the success DSN', async () => {
      const box = await r.inbox('alice@a.test');
      return box.length > 0 ? box : null;
    });
    await until('empty queue', () => r.store.queue.list().length === 0);
    assert.match(dsn ?? '', /Subject: Successful Mail Delivery Report/);
    const blocks = statusBlocks(dsn ?? '');
    assert.equal(blocks.length, 2);
    assert.equal(blocks[1]?.get('Final-Recipient'), 'rfc822; good@b.test');
    assert.equal(blocks[1]?.get('Action'), 'relayed');
    assert.equal((await r.inbox('alice@a.test')).length, 1);
  });

  void test('a bounce is never bounced: a failed DSN (null sender) produces nothing', async () => {
    const r = await rig({ rcpt: () => '550 5.1.1 gone' }, route);
    const id = await r.send(['x@b.test'], 'Subject: a bounce\r\n\r\nx\r\n', '');
    await until('retirement', () => r.store.queue.get(id) === null);
    assert.deepEqual(await r.inbox('alice@a.test'), []);
  });

  void test('queue flush from another connection (as the CLI) makes a deferred recipient due at once', async () => {
    let accept = false;
    const r = await rig(
      { rcpt: () => (accept ? '250 ok' : '451 4.7.1 greylisted') },
      (p) => route(p) + '[queue]\nretry_intervals = ["1h"]\n',
    );
    const id = await r.send(['bob@b.test']);
    await until('deferral', () => r.store.queue.get(id)?.recipients[0]?.state === 'deferred');
    accept = true;
    const cli = openSqliteStore({ dataDir: join(r.store.spoolDir, '..') });
    assert.equal(cli.queue.flush(new Date()), 1);
    await cli.close();
    await until('delivery after flush', () => r.peer.messages.length === 1, 5_000);
  });
  void test('queue.max_connections_per_domain caps the connections open at once to one destination', async () => {
    const load = async (limit: string) => {
      // A slow greeting makes connections overlap; 150 messages are three connections' worth.
      const r = await rig({ greetDelayMs: 150 }, (p) => route(p) + limit, false);
      for (let i = 0; i < 150; i++) await r.send([`user${i}@b.test`]);
      void r.queue; // starts the scheduler with all 150 due at once
      await until('all delivered', () => r.peer.messages.length === 150);
      return r.peer.maxOpen;
    };
    assert.ok((await load('')) > 1, 'without a limit several connections open at once');
    assert.equal(await load('[queue]\nmax_connections_per_domain = 1\n'), 1);
  });

  void test('queue.delay_warning: one delay DSN for both deferred recipients, field by field; none after delivery', async () => {
    let accept = false;
    const r = await rig(
      { rcpt: () => (accept ? '250 2.1.5 ok' : '451 4.7.1 greylisted, try later') },
      (p) => route(p) + '[queue]\nretry_intervals = ["1s"]\nmax_age = "1h"\ndelay_warning = "1s"\n',
    );
    const id = await r.send(
      [{ address: 'bob@b.test', orcpt: 'rfc822;bob@b.test' }, 'carol@b.test'],
      undefined,
      undefined,
      { dsnEnvid: 'ENV42', dsnRet: 'FULL' },
    );
    const [dsn] = await until('the delay DSN', async () => {
      const box = await r.inbox('alice@a.test');
      return box.length > 0 ? box : null;
    });
    assert.ok(dsn);
    const created = r.store.queue.get(id)?.createdAt ?? new Date(0);
    assert.match(dsn, /^Return-Path: <>\r\n/, 'null sender (RFC 3461 6.2)');
    assert.match(dsn, /\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx\.a\.test>\r\n/);
    assert.match(dsn, /\r\nTo: <alice@a\.test>\r\n/);
    assert.match(dsn, /\r\nSubject: Delayed Mail \(still being retried\)\r\n/);
    assert.match(dsn, /Content-Type: multipart\/report; report-type=delivery-status;/);
    assert.match(dsn, /still in the queue and will be delivered automatically/);
    assert.match(dsn, /you do not need to do anything/);
    const [perMessage, bob, carol, extra] = statusBlocks(dsn);
    assert.equal(extra, undefined, 'two recipients warned together: one DSN');
    assert.equal(perMessage?.get('Reporting-MTA'), 'dns; mx.a.test');
    assert.equal(perMessage?.get('Original-Envelope-Id'), 'ENV42');
    assert.equal(bob?.get('Original-Recipient'), 'rfc822; bob@b.test');
    assert.equal(carol?.get('Original-Recipient'), undefined, 'no ORCPT given');
    for (const [block, address] of [
      [bob, 'bob@b.test'],
      [carol, 'carol@b.test'],
    ] as const) {
      assert.equal(block?.get('Final-Recipient'), `rfc822; ${address}`);
      assert.equal(block?.get('Action'), 'delayed');
      assert.equal(block?.get('Status'), '4.7.1');
      assert.equal(block?.get('Remote-MTA'), 'dns; 127.0.0.1');
      assert.equal(block?.get('Diagnostic-Code'), 'smtp; 451 4.7.1 greylisted, try later');
      assert.ok(block?.get('Last-Attempt-Date'));
      // RFC 3464 2.3.8: created + max_age (second precision in RFC 5322 dates).
      const until = Date.parse(block?.get('Will-Retry-Until') ?? '');
      assert.ok(Math.abs(until - (created.getTime() + 3_600_000)) < 1000, block?.get('Will-Retry-Until'));
    }
    // RFC 3461 4.3: RET=FULL is about failures; a warning returns the headers only.
    assert.match(dsn, /Content-Type: text\/rfc822-headers\r\n\r\nReceived: from client by mx\.a\.test/);
    assert.doesNotMatch(dsn, /Hello there\./);
    // Deferred again after the warning, then delivered: still exactly one DSN.
    await until('a deferral after the warning', () =>
      (r.store.queue.get(id)?.recipients ?? []).every((x) => x.attempts >= 3),
    );
    accept = true;
    await until('delivery', () => r.peer.messages.length === 1);
    await until('retirement', () => r.store.queue.get(id) === null);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await r.inbox('alice@a.test')).length, 1, 'exactly one DSN');
  });

  void test('queue.delay_warning: NOTIFY=NEVER and NOTIFY=FAILURE (no DELAY) get no delay DSN', async () => {
    let accept = false;
    const r = await rig(
      { rcpt: () => (accept ? '250 2.1.5 ok' : '451 4.3.0 later') },
      (p) => route(p) + '[queue]\nretry_intervals = ["1s"]\ndelay_warning = "1s"\n',
    );
    const id = await r.send([
      { address: 'never@b.test', notify: ['NEVER'] },
      { address: 'fail@b.test', notify: ['FAILURE'] },
    ]);
    await until(
      'two attempts past delay_warning',
      () => (r.store.queue.get(id)?.recipients ?? []).every((x) => x.attempts >= 3),
      30_000, // ~4 s alone; the whole suite runs files in parallel on 2 cores
    );
    accept = true;
    await until('retirement', () => r.store.queue.get(id) === null);
    assert.equal(r.peer.messages.length, 1);
    assert.deepEqual(await r.inbox('alice@a.test'), []);
  });
});

void describe('outbound.source_address', () => {
  void test('connections leave from it (the address SPF names); a peer of the other family gets the system choice', async () => {
    const r = await rig(
      {},
      (p) => `[outbound]\nsource_address = "127.0.0.2"\nroutes = { "b.test" = "127.0.0.1:${p}" }\n`,
    );
    await r.send(['bob@b.test']);
    await until('delivery', () => r.peer.messages.length === 1);
    assert.deepEqual(r.peer.clients, ['127.0.0.2']);
    const v6 = await rig(
      {},
      (p) => `[outbound]\nsource_address = "::1"\nroutes = { "b.test" = "127.0.0.1:${p}" }\n`,
    );
    await v6.send(['bob@b.test']);
    await until('delivery from the IPv4 default', () => v6.peer.messages.length === 1);
    assert.deepEqual(v6.peer.clients, ['127.0.0.1']);
  });
});
