// Email/set (RFC 8621 4.6): keyword and mailbox patches (seen by IMAP's rows), destroy, create from JMAP properties, SetErrors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mailBench, type MailBench } from '../../../helpers/jmap-mail.js';
import { parseMimeStructure } from '../../../../src/mail/mime-structure.js';
import { HeaderMap } from '../../../../src/mail/headers.js';
import { decodeEncodedWords } from '../../../../src/mail/encoded-words.js';
import { partText } from '../../../../src/jmap/mail/email-content.js';
import { partContent } from '../../../../src/mail/jmap-body.js';

let b: MailBench;
let low = false;
before(async () => {
  b = await mailBench({ deps: { storage: { isLow: () => low, check: () => Promise.resolve(low) } } });
});
after(() => b.close());

type Resp = Record<string, unknown>;
async function set(args: Resp): Promise<Resp> {
  const [[name, r]] = (await b.call([['Email/set', { accountId: b.accountId, ...args }, 's']])) as [
    [string, Resp, string],
  ];
  return name === 'error' ? { error: r.type } : r;
}
const flagsOf = (mailbox: string): string[][] =>
  b.store.mail.listIndex(b.store.mail.findMailbox(b.storeId, mailbox)!.id).map((r) => [...r.flags]);

describe('Email/set update and destroy', () => {
  test('keywords: whole value and "keywords/$seen" patches; IMAP rows get the flags and a new MODSEQ', async () => {
    const id = await b.add('INBOX', 'Subject: k\n\nx\n');
    const box = b.store.mail.findMailbox(b.storeId, 'INBOX')!;
    const modseq = b.store.mail.highestModseq(box.id)!;
    let r = await set({ update: { [id]: { keywords: { $flagged: true, custom: true } } } });
    assert.deepEqual(r.updated, { [id]: null });
    assert.deepEqual(flagsOf('INBOX').at(-1)!.sort(), ['\\Flagged', 'custom']);
    r = await set({ update: { [id]: { 'keywords/$seen': true, 'keywords/$flagged': null } } });
    assert.deepEqual(r.updated, { [id]: null });
    assert.deepEqual(flagsOf('INBOX').at(-1)!.sort(), ['\\Seen', 'custom']);
    assert.ok(b.store.mail.highestModseq(box.id)! > modseq);
    assert.deepEqual(b.store.jmap.getEmails(b.storeId, [id])[0]!.keywords, ['$seen', 'custom']);
  });

  test('mailboxIds: patch adds and removes rows (COPY and EXPUNGE for IMAP); empty is invalidProperties', async () => {
    const id = await b.add('INBOX', 'Subject: m\n\nx\n');
    const inbox = b.box('INBOX');
    const archive = b.box('Archive');
    let r = await set({
      update: { [id]: { [`mailboxIds/${archive}`]: true, [`mailboxIds/${inbox}`]: null } },
    });
    assert.deepEqual(r.updated, { [id]: null });
    assert.deepEqual(b.store.jmap.getEmails(b.storeId, [id])[0]!.mailboxIds, [archive]);
    r = await set({ update: { [id]: { mailboxIds: {} } } });
    assert.deepEqual((r.notUpdated as Resp)[id], {
      type: 'invalidProperties',
      properties: ['mailboxIds'],
      description: 'an Email is in one or more existing Mailboxes',
    });
    r = await set({ update: { [id]: { mailboxIds: { Fzzzz: true } } } });
    assert.equal(((r.notUpdated as Resp)[id] as Resp).type, 'invalidProperties');
  });

  test('SetErrors: immutable property, notFound, invalidPatch, bad keyword; destroy and notDestroyed', async () => {
    const id = await b.add('INBOX', 'Subject: d\n\nx\n');
    const r = await set({
      update: {
        [id]: { subject: 'new' },
        Mzzzz: { keywords: {} },
        Mzzzy: 'x',
      },
    });
    const nu = r.notUpdated as Record<string, Resp>;
    assert.deepEqual([nu[id]!.type, nu[id]!.properties], ['invalidProperties', ['subject']]);
    assert.equal(nu.Mzzzz!.type, 'notFound');
    assert.equal(nu.Mzzzy!.type, 'invalidPatch');
    const k = await set({ update: { [id]: { 'keywords/a b': true } } });
    assert.equal(((k.notUpdated as Resp)[id] as Resp).type, 'invalidProperties');
    const both = await set({ update: { [id]: { keywords: {}, 'keywords/$seen': true } } });
    assert.equal(((both.notUpdated as Resp)[id] as Resp).type, 'invalidPatch');
    const d = await set({ destroy: [id, 'Mzzzz'] });
    assert.deepEqual(d.destroyed, [id]);
    assert.deepEqual(d.notDestroyed, { Mzzzz: { type: 'notFound' } });
    assert.deepEqual(b.store.jmap.getEmails(b.storeId, [id]), [null]);
  });

  test('ifInState: stateMismatch when stale, oldState/newState otherwise', async () => {
    assert.equal((await set({ ifInState: 'stale', destroy: [] })).error, 'stateMismatch');
    const state = b.store.jmap.states(b.storeId).Email;
    const r = await set({ ifInState: state, destroy: ['Mzzzz'] });
    assert.equal(r.oldState, state);
  });
});

describe('Email/set create (RFC 8621 4.6)', () => {
  test('a draft from properties, textBody + htmlBody + an uploaded attachment: stored, parsed back, ids by creation id', async () => {
    const pdf = Buffer.alloc(3000, 0x41);
    const upload = await b.store.uploads.create(
      b.storeId,
      { kind: 'memory', chunks: [pdf], size: pdf.length },
      'application/pdf',
    );
    const [[name, r], [name2, r2]] = (await b.call([
      [
        'Email/set',
        {
          accountId: b.accountId,
          create: {
            d1: {
              mailboxIds: { [b.box('Drafts')]: true },
              keywords: { $draft: true, $seen: true },
              from: [{ name: 'Bob Ü', email: 'bob@example.test' }],
              to: [{ email: 'alice@a.test' }],
              subject: 'Grüße',
              inReplyTo: ['m1@a.test'],
              'header:X-Mailer:asText': 'Mailroom test',
              textBody: [{ partId: 't', type: 'text/plain' }],
              htmlBody: [{ partId: 'h', type: 'text/html' }],
              attachments: [
                {
                  blobId: `U${upload.id}`,
                  type: 'application/pdf',
                  name: 'a.pdf',
                  disposition: 'attachment',
                },
              ],
              bodyValues: { t: { value: 'Hello Alice' }, h: { value: '<p>Hello <b>Alice</b></p>' } },
            },
          },
        },
        's',
      ],
      ['Email/set', { accountId: b.accountId, update: { '#d1': { 'keywords/$flagged': true } } }, 'u'],
    ])) as [[string, Resp, string], [string, Resp, string]];
    assert.equal(name, 'Email/set');
    const c = (r.created as Record<string, Resp>).d1!;
    assert.match(String(c.id), /^M/);
    assert.match(String(c.threadId), /^T/);
    assert.equal(name2, 'Email/set');
    assert.deepEqual(r2.updated, { [c.id as string]: null });
    const [email] = b.store.jmap.getEmails(b.storeId, [c.id as string]);
    assert.deepEqual(email!.keywords, ['$draft', '$flagged', '$seen']);
    assert.deepEqual(email!.mailboxIds, [b.box('Drafts')]);
    assert.equal(email!.size, c.size);
    const bytes = await b.store.readMessage(email!.messageId);
    const h = HeaderMap.parse(bytes.subarray(0, bytes.indexOf('\r\n\r\n') + 2));
    assert.equal(decodeEncodedWords(h.get('subject')!), 'Grüße');
    assert.equal(h.get('in-reply-to'), '<m1@a.test>');
    assert.equal(h.get('x-mailer'), 'Mailroom test');
    assert.match(h.get('message-id')!, /^<[0-9a-f]+@mx\.example\.test>$/);
    assert.equal(h.get('date'), 'Tue, 2 Jan 2024 03:04:05 +0000');
    const s = parseMimeStructure(bytes);
    assert.equal(`${s.root.contentType.type}/${s.root.contentType.subtype}`, 'multipart/mixed');
    const [alt, att] = s.root.children!;
    assert.equal(alt!.contentType.subtype, 'alternative');
    assert.equal(partText(bytes, alt!.children![0]!), 'Hello Alice');
    assert.equal(att!.disposition?.params.filename, 'a.pdf');
    assert.equal(att!.size > 4000, true, 'base64 of 3000 bytes');
  });

  test('bodyStructure with a multipart/related inline image and a message blob as attachment', async () => {
    const original = await b.add('INBOX', 'Subject: fwd me\n\norig\n');
    const [rec] = b.store.jmap.getEmails(b.storeId, [original]);
    const r = await set({
      create: {
        x: {
          mailboxIds: { [b.box('Drafts')]: true },
          bodyStructure: {
            type: 'multipart/mixed',
            subParts: [
              { partId: 'p', type: 'text/plain' },
              { blobId: rec!.blobId, type: 'message/rfc822', name: 'fwd.eml' },
            ],
          },
          bodyValues: { p: { value: 'see below' } },
        },
      },
    });
    const c = (r.created as Record<string, Resp>).x!;
    const [email] = b.store.jmap.getEmails(b.storeId, [c.id as string]);
    const s = parseMimeStructure(await b.store.readMessage(email!.messageId));
    assert.equal(s.root.children![1]!.message?.envelope.subject, 'fwd me');
  });

  test('an attachment by the part blob id of a stored Email (a forward): the part decoded, carried along', async () => {
    const original = await b.add(
      'INBOX',
      'Subject: has a file\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\nsee file\n--z\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=f.bin\nContent-Transfer-Encoding: base64\n\nAAECAwQF\n--z--\n',
    );
    const [rec] = b.store.jmap.getEmails(b.storeId, [original]);
    const partBlob = `${rec!.blobId}_2`; // "<blob>_<partId>", as Email/get's attachments give it
    const r = await set({
      create: {
        fwd: {
          mailboxIds: { [b.box('Drafts')]: true },
          subject: 'Fwd: has a file',
          bodyValues: { p: { value: 'forwarded' } },
          textBody: [{ partId: 'p', type: 'text/plain' }],
          attachments: [{ blobId: partBlob, type: 'application/octet-stream', name: 'f.bin' }],
        },
      },
    });
    const c = (r.created as Record<string, Resp> | null)?.fwd;
    assert.ok(c, JSON.stringify(r.notCreated));
    const [email] = b.store.jmap.getEmails(b.storeId, [c.id as string]);
    const raw = await b.store.readMessage(email!.messageId);
    const part = parseMimeStructure(raw).root.children![1]!;
    assert.deepEqual([...partContent(raw, part)], [0, 1, 2, 3, 4, 5]);
  });

  test('create SetErrors: invalidProperties, blobNotFound, overQuota; nothing is stored', async () => {
    const drafts = { [b.box('Drafts')]: true };
    const before = b.store.jmap.listEmails(b.storeId).length;
    const rows: Array<[Resp, string, unknown]> = [
      [{ subject: 'no mailbox' }, 'invalidProperties', ['mailboxIds']],
      [{ mailboxIds: drafts, id: 'Mx' }, 'invalidProperties', ['id']],
      [{ mailboxIds: drafts, from: 'bob' }, 'invalidProperties', ['from']],
      [{ mailboxIds: drafts, subject: 'a', 'header:Subject': 'b' }, 'invalidProperties', ['subject']],
      [
        { mailboxIds: drafts, 'header:Content-Type': 'text/html' },
        'invalidProperties',
        ['header:Content-Type'],
      ],
      [
        { mailboxIds: drafts, textBody: [{ partId: 'nope', type: 'text/plain' }] },
        'invalidProperties',
        ['bodyValues'],
      ],
      [
        {
          mailboxIds: drafts,
          textBody: [{ partId: 't' }],
          bodyValues: { t: { value: 'x', isTruncated: true } },
        },
        'invalidProperties',
        ['bodyValues'],
      ],
      [
        { mailboxIds: drafts, bodyStructure: { type: 'text/plain', partId: 'a' }, textBody: [] },
        'invalidProperties',
        ['textBody'],
      ],
      [
        { mailboxIds: drafts, attachments: [{ blobId: 'U99999', type: 'image/png' }] },
        'blobNotFound',
        undefined,
      ],
      [{ mailboxIds: { Fzzzz: true } }, 'invalidProperties', ['mailboxIds']],
    ];
    for (const [value, type, properties] of rows) {
      const r = await set({ create: { c: value } });
      const e = (r.notCreated as Record<string, Resp>).c!;
      assert.equal(e.type, type, JSON.stringify(value));
      if (properties) assert.deepEqual(e.properties, properties, JSON.stringify(value));
      if (type === 'blobNotFound') assert.deepEqual(e.notFound, ['U99999']);
    }
    low = true;
    try {
      const r = await set({ create: { c: { mailboxIds: drafts } } });
      assert.equal(((r.notCreated as Resp).c as Resp).type, 'overQuota');
    } finally {
      low = false;
    }
    assert.equal(b.store.jmap.listEmails(b.storeId).length, before);
  });
});

describe('Email/set and the account quota (issue 12)', () => {
  test('create and a mailboxIds patch that adds a copy: overQuota SetError; moving and destroying still work', async () => {
    const id = await b.add('INBOX', 'Subject: q\n\n' + 'x'.repeat(500) + '\n');
    const address = b.store.getAccountById(b.storeId)!.address;
    const used = b.store.quotaOf(b.storeId)!.bytes;
    b.store.setQuota(address, { bytes: used + 100 });
    try {
      const drafts = { [b.box('Drafts')]: true };
      let r = await set({
        create: {
          c: {
            mailboxIds: drafts,
            subject: 'x',
            textBody: [{ partId: 't' }],
            bodyValues: { t: { value: 'y'.repeat(300) } },
          },
        },
      });
      assert.equal(((r.notCreated as Resp).c as Resp).type, 'overQuota');
      r = await set({ update: { [id]: { [`mailboxIds/${b.box('Archive')}`]: true } } });
      assert.equal(((r.notUpdated as Resp)[id] as Resp).type, 'overQuota');
      r = await set({ update: { [id]: { mailboxIds: { [b.box('Archive')]: true } } } });
      assert.deepEqual(r.updated, { [id]: null });
      r = await set({ destroy: [id] });
      assert.deepEqual(r.destroyed, [id]);
    } finally {
      b.store.setQuota(address, { bytes: null });
    }
  });

  test('create into two mailboxes with room for one copy: overQuota, and no copy kept in either', async () => {
    const address = b.store.getAccountById(b.storeId)!.address;
    const used = b.store.quotaOf(b.storeId)!;
    const before = b.store.jmap.listEmails(b.storeId).length;
    // About 700 octets of message: one copy fits in 1000 more, two do not (RFC 9208 5.1 counts each).
    b.store.setQuota(address, { bytes: used.bytes + 1000 });
    try {
      const r = await set({
        create: {
          c: {
            mailboxIds: { [b.box('Drafts')]: true, [b.box('Archive')]: true },
            subject: 'two copies',
            textBody: [{ partId: 't' }],
            bodyValues: { t: { value: 'y'.repeat(600) } },
          },
        },
      });
      assert.equal(((r.notCreated as Resp).c as Resp).type, 'overQuota');
      assert.equal(b.store.jmap.listEmails(b.storeId).length, before);
      assert.equal(b.store.quotaOf(b.storeId)!.messages, used.messages);
    } finally {
      b.store.setQuota(address, { bytes: null });
    }
  });
});
