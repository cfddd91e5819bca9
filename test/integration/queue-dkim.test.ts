// Outbound DKIM in process: queued mail, DSNs and vacation replies reach a sink SMTP peer signed; mailauth and python3-dkim verify them.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { withVacationResponder } from '../../src/delivery/vacation-responder.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startOutgoingQueue, type OutgoingQueue } from '../../src/queue/outgoing.js';
import { generateDkimKeyPair } from '../../src/sender-auth/dkim-keys.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { DkimKey } from '../../src/store/dkim-store.js';
import { arc, dkimVerify, type ARCData } from 'mailauth';
import { mailauthVerdicts, pythonArcVerify, pythonVerify, recordOf, txtResolver } from '../helpers/dkim.js';
import { startPeer, type PeerScript, type ScriptedPeer } from './queue-peer.js';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Rig {
  store: SqliteStore;
  peer: ScriptedPeer;
  key: DkimKey;
  records: Record<string, string>;
  send(from: string, to: string[], body: string, sender?: string): Promise<void>;
}

let seq = 0;
async function rig(script: PeerScript, algorithm: 'rsa' | 'ed25519' = 'rsa'): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-dkim-queue-'));
  const peer = await startPeer(script);
  const config = parseConfigText(
    `hostname = "mx.a.test"\ndata_dir = "data"\n[outbound]\nroutes = { "b.test" = "127.0.0.1:${peer.port}" }\n` +
      '[queue]\nretry_intervals = ["1s"]\n',
    { configPath: null, baseDir: dir, defaultHostname: 'mx.a.test' },
  );
  const store = openSqliteStore({ dataDir: config.dataDir });
  store.addDomain('a.test');
  store.addDomain('sub.a.test');
  store.addAccount('alice@a.test', 'x');
  const pair = await generateDkimKeyPair(algorithm);
  const key = store.dkim.addKey({ domain: 'a.test', selector: 'mr202612', algorithm, ...pair });
  let ids = 0;
  const queue: OutgoingQueue = startOutgoingQueue({
    store,
    config,
    logger: silentLogger(),
    now: () => new Date(),
    newQueueId: () => `DSN${++ids}`,
    limits: { pollMs: 100 },
  });
  cleanups.push(async () => {
    await queue.stop(1000);
    await store.close();
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const record = recordOf(key);
  return {
    store,
    peer,
    key,
    records: { [record.name]: record.txt },
    async send(from, to, body, sender = /[^<\s]+@[^>\s]+/.exec(from)?.[0] ?? '') {
      const text = `From: ${from}\r\nTo: ${to.join(', ')}\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\n${body}`;
      await store.deliver({
        queueId: `K${++seq}`,
        envelope: { sender },
        traceHeaders: 'Received: from client by mx.a.test; Sat, 05 Dec 2026 10:00:00 +0000\r\n',
        body: { kind: 'memory', chunks: [Buffer.from(text, 'utf8')], size: Buffer.byteLength(text) },
        receivedAt: new Date(),
        local: [],
        remote: to.map((address) => ({ address })),
      });
    },
  };
}

async function until<T>(what: string, f: () => T, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('outbound DKIM through the queue', () => {
  for (const algorithm of ['rsa', 'ed25519'] as const) {
    test(`${algorithm}: a relayed message arrives signed by a.test; SIZE= counts the signature`, async () => {
      const r = await rig({}, algorithm);
      await r.send('Alice <alice@a.test>', ['bob@b.test'], 'Subject: figures\r\n\r\nThe figures.\r\n');
      const got = await until('delivery', () => r.peer.messages[0]);
      assert.match(
        got.data.toString('latin1'),
        /^DKIM-Signature: v=1; a=[a-z0-9]+-sha256; c=relaxed\/relaxed; d=a\.test;/,
      );
      assert.deepEqual(await mailauthVerdicts(got.data, r.records), ['pass d=a.test s=mr202612']);
      assert.equal(pythonVerify(got.data, recordOf(r.key)), 'pass');
      const size = /SIZE=(\d+)/.exec(r.peer.transcript.find((l) => / MAIL FROM:/.test(l)) ?? '')?.[1];
      assert.equal(Number(size), got.data.length, 'SIZE= is the size of what was sent');
    });
  }

  test('a peer without 8BITMIME: the 7-bit downgrade is what is signed', async () => {
    const r = await rig({ extensions: ['PIPELINING', 'SIZE 1000000'] });
    await r.send(
      'alice@a.test',
      ['bob@b.test'],
      'Subject: 8bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        'Content-Transfer-Encoding: 8bit\r\n\r\nGr\u00fc\u00dfe aus K\u00f6ln\r\n',
    );
    const got = await until('delivery', () => r.peer.messages[0]);
    assert.ok(
      got.data.every((b) => b < 0x80),
      '7-bit',
    );
    assert.deepEqual(await mailauthVerdicts(got.data, r.records), ['pass d=a.test s=mr202612']);
    assert.equal(pythonVerify(got.data, recordOf(r.key)), 'pass');
  });

  test('unsigned: From a stranger, From a local subdomain without its own key', async () => {
    const r = await rig({});
    await r.send('carol@else.test', ['bob@b.test'], 'Subject: one\r\n\r\nx\r\n', 'alice@a.test');
    await r.send('dave@sub.a.test', ['bob@b.test'], 'Subject: two\r\n\r\nx\r\n');
    await until('delivery', () => r.peer.messages.length === 2);
    for (const m of r.peer.messages) assert.doesNotMatch(m.data.toString('latin1'), /DKIM-Signature/i);
  });

  test('a DSN to a remote sender is signed with the host name parent domain (d=a.test for mx.a.test)', async () => {
    const r = await rig({
      rcpt: (address) => (address === 'nobody@b.test' ? '550 5.1.1 no such user' : '250 ok'),
    });
    await r.send('stranger@b.test', ['nobody@b.test'], 'Subject: hello\r\n\r\nx\r\n');
    const dsn = await until('the DSN', () => r.peer.messages.find((m) => m.from === ''));
    assert.match(dsn.data.toString('latin1'), /^From: Mail Delivery System <MAILER-DAEMON@mx\.a\.test>/m);
    assert.deepEqual(await mailauthVerdicts(dsn.data, r.records), ['pass d=a.test s=mr202612']);
    assert.equal(pythonVerify(dsn.data, recordOf(r.key)), 'pass');
  });

  test('a vacation reply (null sender, From the user) is signed by the user domain', async () => {
    const r = await rig({});
    const alice = r.store.getAccount('alice@a.test');
    assert.ok(alice);
    r.store.sending.setVacation(alice.id, {
      isEnabled: true,
      fromDate: null,
      toDate: null,
      subject: null,
      textBody: 'Away until Monday.',
      htmlBody: null,
    });
    const deliver = withVacationResponder((req) => r.store.deliver(req), {
      store: r.store,
      hostname: 'mx.a.test',
      now: () => new Date(),
      newQueueId: () => `V${++seq}`,
      logger: silentLogger(),
    });
    const text =
      'From: bob@b.test\r\nTo: alice@a.test\r\nSubject: lunch?\r\nMessage-ID: <l@b.test>\r\n\r\nx\r\n';
    await deliver({
      queueId: `K${++seq}`,
      envelope: { sender: 'bob@b.test' },
      traceHeaders: '',
      body: { kind: 'memory', chunks: [Buffer.from(text)], size: text.length },
      receivedAt: new Date(),
      local: [{ accountId: alice.id }],
      remote: [],
    });
    const reply = await until('the vacation reply', () => r.peer.messages[0]);
    assert.equal(reply.from, '');
    assert.match(reply.data.toString('latin1'), /^Auto-Submitted: auto-replied/m);
    assert.deepEqual(await mailauthVerdicts(reply.data, r.records), ['pass d=a.test s=mr202612']);
    assert.equal(pythonVerify(reply.data, recordOf(r.key)), 'pass');
  });

  test('mail an alias forwards (SRS sender of a.test) leaves with an ARC set sealed by a.test that validates', async () => {
    const r = await rig({});
    await r.send(
      'carol@else.test',
      ['carol.fwd@b.test'],
      'Authentication-Results: mx.a.test; spf=pass smtp.mailfrom=else.test\r\nSubject: fwd\r\n\r\nx\r\n',
      'SRS0=abcd=TT=else.test=carol@a.test',
    );
    const got = await until('delivery', () => r.peer.messages[0]);
    const text = got.data.toString('latin1');
    assert.match(text, /^ARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none; d=a\.test; s=mr202612;/);
    assert.match(
      text,
      /^ARC-Authentication-Results: i=1; mx\.a\.test; spf=pass smtp\.mailfrom=else\.test\r$/m,
    );
    const resolver = txtResolver(r.records);
    const verified = await dkimVerify(got.data, { resolver });
    const chain = await arc(verified.arc as unknown as ARCData, { resolver });
    assert.equal(chain.status.result, 'pass');
    assert.match(pythonArcVerify(got.data, r.records), /^pass /);
  });
});
