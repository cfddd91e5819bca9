// BURL (RFC 4468) with URLAUTH (RFC 4467), in-process server: GENURLAUTH over IMAP, then BURL over submission delivers the draft.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { startJmapServer, type JmapTestServer } from '../helpers/jmap-server.js';
import { RawImap } from '../helpers/imap-raw.js';

let s: JmapTestServer;
before(async () => {
  s = await startJmapServer('', ['imap', 'submission']);
});
after(async () => {
  await s.close();
  rmSync(s.dataDir, { recursive: true, force: true });
});

const DRAFT =
  'From: bob@example.test\r\nTo: carol@example.test\r\nSubject: sent by reference\r\nMessage-ID: <d1@example.test>\r\n' +
  'Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nHello Carol, this body never crossed the wire twice.\r\n';

/** A submission session of `who`; each line's full last reply line. */
async function smtp(who: 'bob' | 'carol', lines: string[]): Promise<{ ehlo: string; replies: string[] }> {
  const socket = net.connect(s.server.addresses.submission![0]!.port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (d) => (text += d.toString()));
  const next = async () => {
    const deadline = Date.now() + 5000;
    while (!/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(text)) {
      if (Date.now() > deadline) throw new Error(`no reply: ${JSON.stringify(text)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const all = text;
    text = '';
    return all;
  };
  await next();
  socket.write('EHLO c.test\r\n');
  const ehlo = await next();
  const auth = Buffer.from(`\0${who}@example.test\0${who} secret`).toString('base64');
  const replies: string[] = [];
  for (const line of [`AUTH PLAIN ${auth}`, ...lines]) {
    socket.write(line.endsWith('\r\n') ? line : `${line}\r\n`);
    replies.push((await next()).trim().split('\r\n').at(-1)!);
  }
  socket.end('QUIT\r\n');
  return { ehlo, replies: replies.slice(1) };
}

async function imapBob(): Promise<RawImap> {
  const c = await RawImap.open(s.server.addresses.imap![0]!.port);
  assert.equal((await c.command('LOGIN bob@example.test "bob secret"')).status, 'OK');
  return c;
}

async function genUrl(c: RawImap, rump: string): Promise<string> {
  const r = await c.command(`GENURLAUTH "${rump}" INTERNAL`);
  assert.equal(r.status, 'OK', r.lines.join('|'));
  const m = /^\* GENURLAUTH "([^"]+)"$/.exec(r.lines[0] ?? '');
  assert.ok(m, r.lines.join('|'));
  return m[1] as string;
}

async function carolInbox(): Promise<string[]> {
  const inbox = s.server.store.mail.findMailbox(s.carol.storeId, 'INBOX')!;
  return Promise.all(
    s.server.store
      .listMessages(inbox.id)
      .map(async (m) => (await s.server.store.readMessage(m.messageId)).toString()),
  );
}

describe('BURL (RFC 4468) on submission', () => {
  test('EHLO offers BURL imap; BURL LAST of a submit+bob URL delivers the draft; BDAT and BURL mix', async () => {
    await s.append(s.bob.storeId, 'Drafts', DRAFT);
    const imap = await imapBob();
    try {
      const whole = await genUrl(
        imap,
        'imap://bob@example.test/Drafts/;UID=1;URLAUTH=submit+bob@example.test',
      );
      const r = await smtp('bob', [
        'MAIL FROM:<bob@example.test>',
        'RCPT TO:<carol@example.test>',
        `BURL ${whole} LAST`,
      ]);
      assert.match(r.ehlo, /\r\n250-BURL imap\r\n/);
      assert.match(r.replies[2]!, /^250 /);
      const got = await carolInbox();
      assert.equal(got.length, 1);
      assert.ok(got[0]!.endsWith(DRAFT), got[0]);

      // A new header as a BDAT chunk, then the draft's body text by URL (RFC 4468 3: chunks mix).
      const text = await genUrl(
        imap,
        'imap://bob@example.test/Drafts/;UID=1/;SECTION=TEXT;URLAUTH=submit+bob@example.test',
      );
      const header = 'From: bob@example.test\r\nTo: carol@example.test\r\nSubject: forwarded text\r\n\r\n';
      const mixed = await smtp('bob', [
        'MAIL FROM:<bob@example.test>',
        'RCPT TO:<carol@example.test>',
        `BDAT ${header.length}\r\n${header}`,
        `BURL ${text}`,
        'BDAT 0 LAST',
      ]);
      assert.deepEqual(
        mixed.replies.map((l) => l.slice(0, 3)),
        ['250', '250', '250', '250', '250'],
      );
      const after2 = await carolInbox();
      assert.equal(after2.length, 2);
      assert.match(
        after2[1]!,
        /Subject: forwarded text\r\n\r\nHello Carol, this body never crossed the wire twice\.\r\n$/,
      );
    } finally {
      imap.close();
    }
  });

  test('refusals: other access identifiers 554 5.7.0, a reset key 554 5.6.6, nothing delivered', async () => {
    const imap = await imapBob();
    try {
      const userUrl = await genUrl(
        imap,
        'imap://bob@example.test/Drafts/;UID=1;URLAUTH=user+bob@example.test',
      );
      const submitUrl = await genUrl(
        imap,
        'imap://bob@example.test/Drafts/;UID=1;URLAUTH=submit+bob@example.test',
      );
      const before = (await carolInbox()).length;
      const tx = ['MAIL FROM:<bob@example.test>', 'RCPT TO:<carol@example.test>'];
      // Only submit+<the authenticated user> is honoured: user+bob, and carol presenting bob's URL.
      assert.match((await smtp('bob', [...tx, `BURL ${userUrl} LAST`])).replies[2]!, /^554 5\.7\.0 /);
      const carolTx = [
        'MAIL FROM:<carol@example.test>',
        'RCPT TO:<bob@example.test>',
        `BURL ${submitUrl} LAST`,
      ];
      assert.match((await smtp('carol', carolTx)).replies[2]!, /^554 5\.7\.0 /);
      assert.match(
        (await smtp('bob', [...tx, 'BURL http://example.test/x LAST'])).replies[2]!,
        /^554 5\.7\.0 /,
      );
      // A changed token, and the real one after RESETKEY: the URL no longer resolves.
      const forged = submitUrl.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
      assert.match((await smtp('bob', [...tx, `BURL ${forged} LAST`])).replies[2]!, /^554 5\.6\.6 /);
      assert.equal((await imap.command('RESETKEY')).status, 'OK');
      const r = await smtp('bob', [...tx, `BURL ${submitUrl} LAST`, 'RCPT TO:<carol@example.test>']);
      assert.match(r.replies[2]!, /^554 5\.6\.6 /);
      // The failed BURL ended the transaction (RFC 4468 3): RCPT now needs a new MAIL.
      assert.match(r.replies[3]!, /^503 /);
      assert.equal((await carolInbox()).length, before);
    } finally {
      imap.close();
    }
  });
});
