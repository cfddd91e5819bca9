// JMAP Email/import, Email/parse and Email/copy over real HTTP (RFC 8621 4.7-4.9): uploads become Emails as IMAP APPEND does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startJmapServer, type JmapTestServer } from '../helpers/jmap-server.js';

let t: JmapTestServer;
let inbox: string;
let archive: string;

const INNER =
  'From: Ann <ann@example.org>\r\nSubject: the original\r\nMessage-ID: <orig@example.org>\r\n\r\nOriginal text.\r\n';
const OUTER =
  'From: Bob <bob@example.test>\r\nTo: carol@example.test\r\nSubject: Fwd: the original\r\nMessage-ID: <fwd@example.test>\r\n' +
  'Date: Sat, 1 Jun 2024 12:00:00 +0200\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
  '--b\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n' +
  INNER +
  '--b--\r\n';

async function upload(data: string, auth = t.bob.auth, accountId = t.bob.id): Promise<string> {
  const res = await fetch(`${t.base}/jmap/upload/${accountId}/`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'message/rfc822' },
    body: data,
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { blobId: string }).blobId;
}

before(async () => {
  t = await startJmapServer();
  const [[, boxes]] = await t.call([
    ['Mailbox/get', { accountId: t.bob.id, ids: null, properties: ['role'] }, '0'],
  ]);
  const list = boxes.list as { id: string; role: string | null }[];
  inbox = list.find((b) => b.role === 'inbox')!.id;
  archive = list.find((b) => b.role === 'archive')!.id;
});
after(async () => {
  await t.close();
});

describe('Email/import', () => {
  test('an uploaded message becomes an Email in two mailboxes with keywords and receivedAt; IMAP sees it', async () => {
    const blobId = await upload(OUTER);
    const responses = await t.call([
      [
        'Email/import',
        {
          accountId: t.bob.id,
          emails: {
            k1: {
              blobId,
              mailboxIds: { [inbox]: true, [archive]: true },
              keywords: { $seen: true, $Flagged: true },
              receivedAt: '2024-06-01T10:00:00Z',
            },
          },
        },
        '0',
      ],
      [
        'Email/get',
        {
          accountId: t.bob.id,
          ids: ['#k1'],
          properties: ['mailboxIds', 'keywords', 'receivedAt', 'subject', 'size'],
        },
        '1',
      ],
    ]);
    const [name, res] = responses[0];
    const got = responses[1]![1];
    assert.equal(name, 'Email/import');
    const created = (
      res.created as Record<string, { id: string; blobId: string; threadId: string; size: number }>
    ).k1!;
    assert.match(created.id, /^M/);
    assert.match(created.threadId, /^T/);
    assert.equal(created.size, Buffer.byteLength(OUTER));
    assert.notEqual(res.oldState, res.newState);
    assert.deepEqual(got.list, [
      {
        id: created.id,
        mailboxIds: { [inbox]: true, [archive]: true },
        keywords: { $seen: true, $flagged: true },
        receivedAt: '2024-06-01T10:00:00Z',
        subject: 'Fwd: the original',
        size: Buffer.byteLength(OUTER),
      },
    ]);
    const imapInbox = t.server.store.mail.findMailbox(t.bob.storeId, 'INBOX')!;
    const rows = t.server.store.mail.listIndex(imapInbox.id);
    assert.deepEqual([...rows.at(-1)!.flags].sort(), ['\\Flagged', '\\Seen']);
  });

  test('into two mailboxes over the quota: overQuota and no copy anywhere (RFC 8621 4.8, all or nothing)', async () => {
    const [[, boxes]] = await t.call(
      [['Mailbox/get', { accountId: t.carol.id, ids: null, properties: ['role'] }, '0']],
      t.carol.auth,
    );
    const list = boxes.list as { id: string; role: string | null }[];
    const [cInbox, cArchive] = ['inbox', 'archive'].map((r) => list.find((b) => b.role === r)!.id);
    const blobId = await upload(INNER, t.carol.auth, t.carol.id);
    const store = t.server.store;
    const used = store.quotaOf(t.carol.storeId)!;
    // Room for one copy, not for two (a message in two mailboxes counts twice, RFC 9208 5.1).
    store.setQuota('carol@example.test', { bytes: used.bytes + Math.floor(INNER.length * 1.5) });
    try {
      const [[, res]] = await t.call(
        [
          [
            'Email/import',
            {
              accountId: t.carol.id,
              emails: { q: { blobId, mailboxIds: { [cInbox!]: true, [cArchive!]: true } } },
            },
            '0',
          ],
        ],
        t.carol.auth,
      );
      assert.equal((res.notCreated as Record<string, { type: string }>).q?.type, 'overQuota');
      assert.equal(res.created, null);
      assert.equal(res.oldState, res.newState, 'nothing changed');
      assert.deepEqual(store.quotaOf(t.carol.storeId)!.messages, used.messages, 'no copy was kept');
      // One mailbox fits.
      const [[, one]] = await t.call(
        [
          [
            'Email/import',
            { accountId: t.carol.id, emails: { r: { blobId, mailboxIds: { [cInbox!]: true } } } },
            '0',
          ],
        ],
        t.carol.auth,
      );
      assert.ok((one.created as Record<string, unknown>).r);
    } finally {
      store.setQuota('carol@example.test', { bytes: null });
    }
  });

  test('errors per email: blobNotFound, invalidEmail, invalidProperties (no mailbox, unknown mailbox, bad keyword, bad date)', async () => {
    const junk = await upload('\u0000\u0001 not a message');
    const good = await upload(INNER);
    const [[, res]] = await t.call([
      [
        'Email/import',
        {
          accountId: t.bob.id,
          emails: {
            a: { blobId: 'U999999', mailboxIds: { [inbox]: true } },
            b: { blobId: junk, mailboxIds: { [inbox]: true } },
            c: { blobId: good, mailboxIds: {} },
            d: { blobId: good, mailboxIds: { Fzzzz: true } },
            e: { blobId: good, mailboxIds: { [inbox]: true }, keywords: { 'bad word': true } },
            f: { blobId: good, mailboxIds: { [inbox]: true }, receivedAt: 'yesterday' },
          },
        },
        '0',
      ],
    ]);
    const nc = res.notCreated as Record<string, { type: string; properties?: string[]; notFound?: string[] }>;
    assert.deepEqual(nc.a, { type: 'blobNotFound', notFound: ['U999999'] });
    assert.equal(nc.b!.type, 'invalidEmail');
    assert.deepEqual(
      [nc.c!.properties, nc.d!.properties, nc.e!.properties, nc.f!.properties],
      [['mailboxIds'], ['mailboxIds/Fzzzz'], ['keywords'], ['receivedAt']],
    );
    assert.equal(res.created, null);
  });

  test("another account's upload is blobNotFound; ifInState mismatch is stateMismatch", async () => {
    const carols = await upload(INNER, t.carol.auth, t.carol.id);
    const [[, res]] = await t.call([
      [
        'Email/import',
        { accountId: t.bob.id, emails: { a: { blobId: carols, mailboxIds: { [inbox]: true } } } },
        '0',
      ],
    ]);
    assert.equal((res.notCreated as Record<string, { type: string }>).a!.type, 'blobNotFound');
    const [[, st]] = await t.call([
      ['Email/import', { accountId: t.bob.id, ifInState: 'nope', emails: {} }, '0'],
    ]);
    assert.equal(st.type, 'stateMismatch');
  });
});

describe('Email/parse', () => {
  test('an upload and its attached message/rfc822 part parse as Emails with null metadata', async () => {
    const blobId = await upload(OUTER);
    const [[, res]] = await t.call([
      [
        'Email/parse',
        {
          accountId: t.bob.id,
          blobIds: [blobId, `${blobId}_2`, 'U999999'],
          properties: ['id', 'threadId', 'blobId', 'subject', 'from', 'attachments', 'sentAt'],
          bodyProperties: ['partId', 'blobId', 'type'],
        },
        '0',
      ],
    ]);
    const parsed = res.parsed as Record<string, Record<string, unknown>>;
    assert.deepEqual(parsed[blobId], {
      id: null,
      threadId: null,
      blobId,
      subject: 'Fwd: the original',
      from: [{ name: 'Bob', email: 'bob@example.test' }],
      attachments: [{ partId: '2', blobId: `${blobId}_2`, type: 'message/rfc822' }],
      sentAt: '2024-06-01T12:00:00+02:00',
    });
    assert.equal(parsed[`${blobId}_2`]!.subject, 'the original');
    assert.deepEqual(res.notFound, ['U999999']);
    // The part blob downloads as the encapsulated message.
    const dl = await fetch(`${t.base}/jmap/download/${t.bob.id}/${blobId}_2/orig.eml`, {
      headers: { authorization: t.bob.auth },
    });
    assert.equal(dl.status, 200);
    assert.equal(dl.headers.get('content-type'), 'message/rfc822');
    // The line break before the boundary belongs to the boundary (RFC 2046 5.1.1).
    assert.equal(await dl.text(), INNER.slice(0, -2));
  });

  test('a blob that is no message is notParsable', async () => {
    const junk = await upload('\u0000 binary');
    const [[, res]] = await t.call([['Email/parse', { accountId: t.bob.id, blobIds: [junk] }, '0']]);
    assert.deepEqual(res.notParsable, [junk]);
  });
});

describe('Email/copy', () => {
  test('from the same account is invalidArguments; from an unknown one fromAccountNotFound (RFC 8620 5.4)', async () => {
    const [[, same]] = await t.call([
      ['Email/copy', { accountId: t.bob.id, fromAccountId: t.bob.id, create: {} }, '0'],
    ]);
    assert.equal(same.type, 'invalidArguments');
    const [[, other]] = await t.call([
      ['Email/copy', { accountId: t.bob.id, fromAccountId: t.carol.id, create: {} }, '0'],
    ]);
    assert.equal(other.type, 'fromAccountNotFound');
  });
});
