// JMAP Email/get over real HTTP (RFC 8621 4.2): the RFC example, header forms, body values, blobs of messages and parts, IMAP STORE as keywords.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RawImap } from '../helpers/imap-raw.js';
import { startJmapServer, type JmapTestServer } from '../helpers/jmap-server.js';

let t: JmapTestServer;
let ids: string[];
let inboxId: string;

const HTML = `<html><body><p>Hello, party people! ${'x'.repeat(400)}</p></body></html>`;
// The message of RFC 8621 4.2's example: a list post with an HTML body.
const PARTY = `From: Joe Bloggs <joe@example.com>
To: bob@example.test
Subject: Dinner on Thursday?
Message-ID: <party@example.com>
List-Post: <mailto:partytime@lists.example.com>
Date: Thu, 30 Oct 2014 14:12:00 +0800
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

${HTML}
`;
const MIXED = `From: =?utf-8?q?Ren=C3=A9e?= <renee@example.org>, Team: ann@example.org, bo@example.org;
To: bob@example.test
Cc: carol@example.test
Subject: =?utf-8?q?R=C3=A9sum=C3=A9?= attached
Message-ID: <cv@example.org>
In-Reply-To: <party@example.com>
References: <party@example.com>
Date: Fri, 31 Oct 2014 09:00:00 -0500
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="zz"

--zz
Content-Type: multipart/alternative; boundary="yy"

--yy
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Voil=E0 my CV.
--yy
Content-Type: text/html; charset=utf-8

<p>Voil\u00e0 my <b>CV</b>.</p>
--yy--
--zz
Content-Type: application/pdf; name="cv.pdf"
Content-Disposition: attachment; filename="cv.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IK
--zz--
`;

before(async () => {
  t = await startJmapServer();
  await t.append(t.bob.storeId, 'INBOX', PARTY, [], new Date('2014-10-30T06:12:00Z'));
  await t.append(t.bob.storeId, 'INBOX', MIXED, ['\\Seen', '$Forwarded'], new Date('2014-10-31T14:00:00Z'));
  const boxes = (
    await t.call([['Mailbox/get', { accountId: t.bob.id, ids: null, properties: ['name'] }, '0']])
  )[0][1].list as { id: string; name: string }[];
  inboxId = boxes.find((b) => b.name === 'INBOX')!.id;
  ids = t.server.store.jmap.queryMailbox(t.bob.storeId, inboxId, 0, 10, false)!.ids.reverse();
});
after(async () => {
  await t.close();
});

describe('Email/get', () => {
  test('the RFC 8621 4.2 example: threadId, mailboxIds, from, subject, List-Post as URLs, htmlBody, truncated value', async () => {
    const [[name, res]] = await t.call([
      [
        'Email/get',
        {
          accountId: t.bob.id,
          ids: [ids[0]],
          properties: [
            'threadId',
            'mailboxIds',
            'from',
            'subject',
            'receivedAt',
            'header:List-POST:asURLs',
            'htmlBody',
            'bodyValues',
          ],
          bodyProperties: ['partId', 'blobId', 'size', 'type'],
          fetchHTMLBodyValues: true,
          maxBodyValueBytes: 256,
        },
        '#1',
      ],
    ]);
    assert.equal(name, 'Email/get');
    const [email] = res.list as Record<string, unknown>[];
    const record = t.server.store.jmap.getEmails(t.bob.storeId, [ids[0]!])[0]!;
    assert.deepEqual(email, {
      id: ids[0],
      threadId: record.threadId,
      mailboxIds: { [inboxId]: true },
      from: [{ name: 'Joe Bloggs', email: 'joe@example.com' }],
      subject: 'Dinner on Thursday?',
      receivedAt: '2014-10-30T06:12:00Z',
      'header:List-POST:asURLs': ['mailto:partytime@lists.example.com'],
      htmlBody: [
        {
          partId: '1',
          blobId: `${record.blobId}_1`,
          size: Buffer.byteLength(`${HTML}\r\n`),
          type: 'text/html',
        },
      ],
      bodyValues: {
        '1': { isEncodingProblem: false, isTruncated: true, value: `${HTML}\r\n`.slice(0, 256) },
      },
    });
    assert.equal(res.state, t.server.store.jmap.states(t.bob.storeId).Email);
    assert.deepEqual(res.notFound, []);
  });

  test('default properties: keywords, parsed headers, sentAt with its offset, body parts, attachments, preview', async () => {
    const [[, res]] = await t.call([
      ['Email/get', { accountId: t.bob.id, ids: [ids[1]], fetchTextBodyValues: true }, '0'],
    ]);
    const e = (res.list as Record<string, unknown>[])[0]!;
    assert.deepEqual(e.keywords, { $seen: true, $forwarded: true });
    assert.deepEqual(e.from, [
      { name: 'Renée', email: 'renee@example.org' },
      { name: null, email: 'ann@example.org' },
      { name: null, email: 'bo@example.org' },
    ]);
    assert.deepEqual(e.cc, [{ name: null, email: 'carol@example.test' }]);
    assert.equal(e.bcc, null);
    assert.equal(e.subject, 'Résumé attached');
    assert.deepEqual(e.messageId, ['cv@example.org']);
    assert.deepEqual(e.inReplyTo, ['party@example.com']);
    assert.equal(e.sentAt, '2014-10-31T09:00:00-05:00');
    assert.equal(e.hasAttachment, true);
    assert.equal(e.preview, 'Voilà my CV.');
    assert.deepEqual(
      (e.textBody as { partId: string; type: string; charset: string }[]).map((p) => [
        p.partId,
        p.type,
        p.charset,
      ]),
      [['1', 'text/plain', 'iso-8859-1']],
    );
    assert.deepEqual(
      (e.htmlBody as { partId: string }[]).map((p) => p.partId),
      ['2'],
    );
    const [pdf] = e.attachments as Record<string, unknown>[];
    assert.deepEqual(
      { name: pdf!.name, type: pdf!.type, disposition: pdf!.disposition, size: pdf!.size },
      { name: 'cv.pdf', type: 'application/pdf', disposition: 'attachment', size: 15 },
    );
    assert.deepEqual(e.bodyValues, {
      '1': { value: 'Voilà my CV.', isEncodingProblem: false, isTruncated: false },
    });
  });

  test('bodyStructure with subParts and part headers; header:*:all and headers', async () => {
    const [[, res]] = await t.call([
      [
        'Email/get',
        {
          accountId: t.bob.id,
          ids: [ids[1]],
          properties: ['bodyStructure', 'header:From:asGroupedAddresses', 'header:X-None:all', 'headers'],
          bodyProperties: ['partId', 'type', 'header:Content-Type'],
        },
        '0',
      ],
    ]);
    const e = (res.list as Record<string, unknown>[])[0]!;
    const bs = e.bodyStructure as {
      type: string;
      partId: null;
      subParts: { type: string; subParts: unknown }[];
    };
    assert.equal(bs.type, 'multipart/mixed');
    assert.equal(bs.partId, null);
    assert.deepEqual(
      bs.subParts.map((p) => p.type),
      ['multipart/alternative', 'application/pdf'],
    );
    assert.equal(
      (bs.subParts[1] as Record<string, unknown>)['header:Content-Type'],
      ' application/pdf; name="cv.pdf"',
    );
    assert.deepEqual(
      (e['header:From:asGroupedAddresses'] as { name: string | null }[]).map((g) => g.name),
      [null, 'Team'],
    );
    assert.deepEqual(e['header:X-None:all'], []);
    assert.ok((e.headers as { name: string }[]).some((h) => h.name === 'Subject'));
  });

  test('only metadata asked: only those properties; unknown ids and ids of another account are notFound', async () => {
    await t.append(t.carol.storeId, 'INBOX', PARTY);
    const carolInbox = t.server.store.mail.findMailbox(t.carol.storeId, 'INBOX')!;
    const carolEmail = t.server.store.jmap.queryMailbox(
      t.carol.storeId,
      t.server.store.jmap.mailboxObjectId(carolInbox.id),
      0,
      1,
      false,
    )!.ids[0]!;
    const [[, res]] = await t.call([
      [
        'Email/get',
        {
          accountId: t.bob.id,
          ids: [ids[0], carolEmail, 'Mzzzz', 'bogus'],
          properties: ['size', 'receivedAt'],
        },
        '0',
      ],
    ]);
    assert.deepEqual(
      (res.list as Record<string, unknown>[]).map((e) => Object.keys(e).sort()),
      [['id', 'receivedAt', 'size']],
    );
    assert.deepEqual(res.notFound, [carolEmail, 'Mzzzz', 'bogus']);
  });

  test('a message list page asked again reads no message (values of stored messages are cached)', async () => {
    const store = t.server.store;
    const reads = { whole: 0, opened: 0 };
    const readMessage = store.readMessage.bind(store);
    const openMessage = store.mail.openMessage.bind(store.mail);
    store.readMessage = (id) => (reads.whole++, readMessage(id));
    store.mail.openMessage = (id) => (reads.opened++, openMessage(id));
    try {
      const args = {
        accountId: t.bob.id,
        ids,
        properties: ['from', 'subject', 'preview', 'keywords', 'receivedAt'],
      };
      const [[, first]] = await t.call([['Email/get', args, '0']]);
      const afterFirst = reads.whole + reads.opened;
      const [[, second]] = await t.call([['Email/get', args, '0']]);
      assert.equal(reads.whole + reads.opened, afterFirst);
      assert.deepEqual(second.list, first.list);
      assert.equal((second.list as { subject: string }[])[1]!.subject, 'Résumé attached');
      // A property not cached yet reads the header only.
      const before = { ...reads };
      await t.call([['Email/get', { ...args, properties: ['subject', 'header:X-Other'] }, '0']]);
      assert.deepEqual([reads.whole - before.whole, reads.opened - before.opened], [0, ids.length]);
    } finally {
      store.readMessage = readMessage;
      store.mail.openMessage = openMessage;
    }
  });

  test('errors: ids null is requestTooLarge, 10,000 ids requestTooLarge, a bad header form invalidArguments', async () => {
    const [[, all]] = await t.call([['Email/get', { accountId: t.bob.id, ids: null }, '0']]);
    assert.equal(all.type, 'requestTooLarge');
    const many = Array.from({ length: 10_000 }, (_, i) => `M${(i + 1).toString(36)}`);
    const [[, big]] = await t.call([['Email/get', { accountId: t.bob.id, ids: many }, '0']]);
    assert.equal(big.type, 'requestTooLarge');
    for (const bad of ['header:Subject:asAddresses', 'header:From:asWhatever', 'nonsense']) {
      const [[, r]] = await t.call([
        ['Email/get', { accountId: t.bob.id, ids: [ids[0]], properties: [bad] }, '0'],
      ]);
      assert.equal(r.type, 'invalidArguments', bad);
    }
    const [[, b]] = await t.call([
      ['Email/get', { accountId: t.bob.id, ids: [ids[0]], bodyProperties: ['colour'] }, '0'],
    ]);
    assert.equal(b.type, 'invalidArguments');
  });

  test('IMAP STORE +FLAGS is a keyword in JMAP and moves the Email state (one store, one truth)', async () => {
    const before = t.server.store.jmap.states(t.bob.storeId).Email;
    const imap = await RawImap.open(t.server.addresses.imap![0]!.port);
    try {
      assert.equal((await imap.command('LOGIN bob@example.test "bob secret"')).status, 'OK');
      assert.equal((await imap.command('SELECT INBOX')).status, 'OK');
      assert.equal((await imap.command('STORE 1 +FLAGS (\\Flagged $Important)')).status, 'OK');
    } finally {
      imap.socket.destroy();
    }
    // Email/changes (another helper's method) reads this change log.
    const changes = t.server.store.jmap.changes(t.bob.storeId, 'Email', before, null);
    assert.ok(changes.ok && changes.updated.includes(ids[0]!));
    const [[, res]] = await t.call([
      ['Email/get', { accountId: t.bob.id, ids: [ids[0]], properties: ['keywords'] }, '0'],
    ]);
    assert.deepEqual((res.list as { keywords: unknown }[])[0]!.keywords, {
      $flagged: true,
      $important: true,
    });
    assert.notEqual(res.state, before);
  });
});

describe('blob downloads of Emails and parts', () => {
  const download = (accountId: string, blobId: string, name: string, auth = t.bob.auth, accept = '') =>
    fetch(
      `${t.base}/jmap/download/${accountId}/${blobId}/${name}${accept ? `?accept=${encodeURIComponent(accept)}` : ''}`,
      {
        headers: { authorization: auth },
      },
    );

  test('the Email blob is the message as stored; a part blob is its decoded content with its type', async () => {
    const record = t.server.store.jmap.getEmails(t.bob.storeId, [ids[1]!])[0]!;
    const whole = await download(t.bob.id, record.blobId, 'cv.eml');
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'message/rfc822');
    const bytes = Buffer.from(await whole.arrayBuffer());
    assert.deepEqual(bytes, await t.server.store.readMessage(record.messageId));
    const pdf = await download(t.bob.id, `${record.blobId}_3`, 'cv.pdf');
    assert.equal(pdf.status, 200);
    assert.equal(pdf.headers.get('content-type'), 'application/pdf');
    assert.match(pdf.headers.get('content-disposition') ?? '', /attachment; filename="cv.pdf"/);
    assert.equal(
      Buffer.from(await pdf.arrayBuffer())
        .toString('latin1')
        .slice(0, 8),
      '%PDF-1.4',
    );
  });

  test("another account's Email blob, a missing part and a destroyed Email are 404", async () => {
    const record = t.server.store.jmap.getEmails(t.bob.storeId, [ids[1]!])[0]!;
    assert.equal((await download(t.carol.id, record.blobId, 'x', t.carol.auth)).status, 404);
    assert.equal((await download(t.bob.id, `${record.blobId}_9`, 'x')).status, 404);
    assert.equal((await download(t.bob.id, 'B0', 'x')).status, 404);
  });
});
