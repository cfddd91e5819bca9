// SRS end to end over the real router and SQLite store: forwarding rewrites the queued sender, bounces reverse.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSmtpServices } from '../../src/server/serve.js';
import { SmtpSession } from '../../src/smtp/server/session.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createRouter } from '../../src/delivery/router.js';
import { createSrsService } from '../../src/delivery/srs-forwarding.js';
import { testPeer, testPolicy } from '../helpers/smtp-fakes.js';

const DAY = 86_400_000;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function openStore(dir?: string): SqliteStore {
  const dataDir = dir ?? mkdtempSync(join(tmpdir(), 'mailroom-srs-'));
  if (!dir) dirs.push(dataDir);
  const store = openSqliteStore({ dataDir });
  if (!dir) {
    store.addDomain('example.test');
    store.addAccount('alice@example.test', 'x');
    // fwd@ keeps a local copy for alice and forwards to a remote mailbox.
    store.addAlias('fwd@example.test', ['alice@example.test', 'someone@remote.test']);
  }
  return store;
}

function session(store: SqliteStore, now: Date) {
  const services = createSmtpServices({ store, hostname: 'mx.example.test', now: () => now });
  const s = new SmtpSession({
    policy: testPolicy({ hostname: 'mx.example.test', maxMessageSize: 100_000 }),
    services,
    peer: testPeer(),
  });
  s.greet();
  return async (text: string) => (await s.feed(Buffer.from(text))).replies.trim().split('\r\n');
}

const t0 = new Date(Date.UTC(2026, 11, 5, 12));
const message = 'Subject: hi\r\n\r\nhello\r\n.\r\n';

async function forwardOne(store: SqliteStore, sender: string): Promise<string> {
  const send = session(store, t0);
  await send('EHLO client.origin.test\r\n');
  // Queue ids made at the same instant (t0) do not sort by arrival: find the new entry by id.
  const before = new Set(store.listQueue().map((q) => q.id));
  const replies = await send(`MAIL FROM:<${sender}>\r\nRCPT TO:<fwd@example.test>\r\nDATA\r\n${message}`);
  assert.match(replies.at(-1)!, /^250 /, replies.join('\n'));
  const queued = store.listQueue().find((q) => !before.has(q.id))!;
  assert.deepEqual(
    queued.recipients.map((r) => r.address),
    ['someone@remote.test'],
  );
  return queued.sender;
}

describe('SRS on alias forwarding (issue 10 item 1)', () => {
  test('a foreign sender is queued as SRS0 at the alias domain; the local copy keeps the original Return-Path', async () => {
    const store = openStore();
    const sender = await forwardOne(store, 'bob@origin.test');
    assert.match(sender, /^SRS0=[A-Z2-7]{8}=[A-Z2-7]{2}=origin\.test=bob@example\.test$/);
    const alice = store.getAccount('alice@example.test')!;
    const inbox = store.getMailbox(alice.id, 'INBOX')!;
    const [copy] = store.listMessages(inbox.id);
    const text = (await store.readMessage(copy!.messageId)).toString('utf8');
    assert.match(text, /^Return-Path: <bob@origin\.test>\r\n/);
    await store.close();
  });

  test('a sender of a local domain and the null sender are not rewritten', async () => {
    const store = openStore();
    assert.equal(await forwardOne(store, 'alice@example.test'), 'alice@example.test');
    assert.equal(await forwardOne(store, ''), '');
    await store.close();
  });

  test('an already-SRS0 sender becomes SRS1 pointing at the first forwarder', async () => {
    const store = openStore();
    const first = 'SRS0=ABCDEFGH=AA=origin.test=bob@first.test';
    assert.match(
      await forwardOne(store, first),
      /^SRS1=[A-Z2-7]{8}=first\.test==ABCDEFGH=AA=origin\.test=bob@example\.test$/,
    );
    await store.close();
  });

  test('a bounce (MAIL FROM:<>) to the SRS address is accepted and queued to the original sender', async () => {
    const store = openStore();
    const srs = await forwardOne(store, 'bob@origin.test');
    const send = session(store, new Date(t0.getTime() + 3 * DAY));
    await send('EHLO remote.test\r\n');
    // Lower-cased on the way, as some MTAs do: still verifies.
    const replies = await send(`MAIL FROM:<>\r\nRCPT TO:<${srs.toLowerCase()}>\r\nDATA\r\n${message}`);
    assert.deepEqual(
      replies.map((l) => l.slice(0, 3)),
      ['250', '250', '354', '250'],
    );
    const bounce = store.listQueue().at(-1)!;
    assert.equal(bounce.sender, '');
    assert.deepEqual(
      bounce.recipients.map((r) => r.address),
      ['bob@origin.test'],
    );
    await store.close();
  });

  test('the SRS address refuses a real sender, a forged hash and an expired timestamp; the key survives a restart', async () => {
    const store = openStore();
    const srs = await forwardOne(store, 'bob@origin.test');
    const dir = join(store.spoolDir, '..');
    await store.close();
    const reopened = openStore(dir);
    const later = (days: number) => session(reopened, new Date(t0.getTime() + days * DAY));
    let send = later(1);
    await send('EHLO remote.test\r\n');
    assert.match((await send(`MAIL FROM:<x@spammer.test>\r\nRCPT TO:<${srs}>\r\n`))[1]!, /^550 5\.7\.1 /);
    send = later(1);
    await send('EHLO remote.test\r\n');
    const forged = srs.replace('=origin.test=bob@', '=victim.test=bob@');
    assert.match((await send(`MAIL FROM:<>\r\nRCPT TO:<${forged}>\r\n`))[1]!, /^550 5\.1\.1 /);
    // The key was kept in the store: the address still reverses after the restart...
    assert.match((await send(`RSET\r\nMAIL FROM:<>\r\nRCPT TO:<${srs}>\r\n`)).at(-1)!, /^250 /);
    // ...until it is older than 21 days.
    send = later(22);
    await send('EHLO remote.test\r\n');
    assert.match((await send(`MAIL FROM:<>\r\nRCPT TO:<${srs}>\r\n`))[1]!, /^550 5\.1\.1 /);
    await reopened.close();
  });

  test('a DSN of our own queue for forwarded mail goes back to the original sender (the queue router reverses)', async () => {
    const store = openStore();
    const srs = await forwardOne(store, 'bob@origin.test');
    const srsService = createSrsService({
      secret: (n, c) => store.policy.secret(n, c),
      isLocalDomain: (d) => store.isLocalDomain(d),
      now: () => t0,
    });
    const route = createRouter(store, { hostname: 'mx.example.test', srs: srsService });
    assert.deepEqual(route(srs, 'MAILER-DAEMON@mx.example.test'), {
      kind: 'accept',
      local: [],
      remote: ['bob@origin.test'],
      bounceOnly: true,
    });
    await store.close();
  });
});
