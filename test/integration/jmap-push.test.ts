// JMAP push over real HTTP (RFC 8620 7.3): StateChange within a second of an SMTP delivery, a JMAP write and another process's change.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startJmapServer, type JmapTestServer } from '../helpers/jmap-server.js';

let t: JmapTestServer;
before(async () => {
  t = await startJmapServer('', ['imap', 'smtp']);
});
after(async () => {
  await t.close();
});

/** An EventSource stream read event by event. */
async function openStream(types = '*') {
  const controller = new AbortController();
  const res = await fetch(`${t.base}/jmap/eventsource/?types=${types}&closeafter=no&ping=0`, {
    headers: { authorization: t.bob.auth },
    signal: controller.signal,
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let text = '';
  const next = async (timeoutMs = 3000): Promise<Record<string, string>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = text.indexOf('\n\n');
      if (end >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as {
          changed: Record<string, Record<string, string>>;
        };
        return data.changed[t.bob.id]!;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no event in time');
      const timer = setTimeout(() => controller.abort(), left);
      const { value, done } = await reader.read().finally(() => clearTimeout(timer));
      if (done) throw new Error('stream ended');
      text += Buffer.from(value).toString();
    }
  };
  return { next, close: () => controller.abort() };
}

describe('push (RFC 8620 7.3) from the store', () => {
  test('the first event carries the store states Foo/get returns', async () => {
    const stream = await openStream();
    try {
      const first = await stream.next();
      const [[, boxes]] = await t.call([
        ['Mailbox/get', { accountId: t.bob.id, ids: [], properties: ['name'] }, '0'],
      ]);
      assert.equal(first.Mailbox, boxes.state);
      assert.equal(first.Email, t.server.store.jmap.states(t.bob.storeId).Email);
      assert.equal(first.EmailDelivery, first.Email);
    } finally {
      stream.close();
    }
  });

  test('SMTP delivery: Email, Mailbox, Thread and EmailDelivery within a second; Email/get shows the message', async () => {
    const stream = await openStream('Email,EmailDelivery,Mailbox');
    try {
      const first = await stream.next();
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: t.server.addresses.smtp![0]!.port,
        name: 'client.example.net',
        ignoreTLS: true,
      });
      const t0 = Date.now();
      await transport.sendMail({
        envelope: { from: 'joe@example.net', to: ['bob@example.test'] },
        raw: 'From: joe@example.net\r\nTo: bob@example.test\r\nSubject: pushed\r\nMessage-ID: <push@example.net>\r\n\r\nhello\r\n',
      });
      const seen: Record<string, string> = {};
      while (seen.EmailDelivery === undefined || seen.Email === undefined)
        Object.assign(seen, await stream.next());
      assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
      assert.notEqual(seen.Email, first.Email);
      // The pushed Mailbox state is one Mailbox/changes accepts.
      const [[, changes]] = await t.call([
        ['Mailbox/changes', { accountId: t.bob.id, sinceState: first.Mailbox }, '0'],
      ]);
      assert.equal(changes.newState, seen.Mailbox);
      const inbox = t.server.store.mail.findMailbox(t.bob.storeId, 'INBOX')!;
      const [id] = t.server.store.jmap.queryMailbox(
        t.bob.storeId,
        t.server.store.jmap.mailboxObjectId(inbox.id),
        0,
        1,
        false,
      )!.ids;
      const [[, got]] = await t.call([
        ['Email/get', { accountId: t.bob.id, ids: [id], properties: ['subject', 'messageId'] }, '0'],
      ]);
      assert.deepEqual(got.list, [{ id, subject: 'pushed', messageId: ['push@example.net'] }]);
      assert.equal(got.state, seen.Email);
      transport.close();
    } finally {
      stream.close();
    }
  });

  test('a JMAP Mailbox/set and a change by another process (the CLI) both arrive', async () => {
    const stream = await openStream('Mailbox');
    try {
      await stream.next();
      await t.call([['Mailbox/set', { accountId: t.bob.id, create: { a: { name: 'Pushed' } } }, '0']]);
      const own = await stream.next(1000);
      assert.equal(own.Mailbox, t.server.store.jmap.states(t.bob.storeId).Mailbox);
      const other = openSqliteStore({ dataDir: t.dataDir });
      const t0 = Date.now();
      try {
        other.mail.createMailbox(t.bob.storeId, 'From the CLI');
      } finally {
        await other.close();
      }
      // CHANGE_POLL_MS is one second: the poll that sees it comes within that, plus the round trip.
      const polled = await stream.next(2500);
      assert.ok(Date.now() - t0 < 1500, `${Date.now() - t0} ms`);
      const [[, boxes]] = await t.call([
        ['Mailbox/get', { accountId: t.bob.id, ids: [], properties: ['name'] }, '0'],
      ]);
      assert.equal(polled.Mailbox, boxes.state);
    } finally {
      stream.close();
    }
  });
});
