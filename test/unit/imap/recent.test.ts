// \Recent in IMAP4rev1 sessions (RFC 3501 2.3.2, 6.3.1, 6.3.2, 7.3.2; SEARCH NEW/OLD/RECENT 6.4.4): several sessions on one store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MailboxIndexCache } from '../../../src/imap/mailbox-index-cache.js';
import { deliverText, imapSession, openTestStore, type ImapSend } from '../../helpers/imap-session.js';

const NOW = new Date('2026-11-23T10:00:00Z');

/** One store and index cache, as one server has; `session()` opens a logged-in connection to it. */
async function server() {
  const { store, bob } = await openTestStore({ clock: () => NOW });
  const indexCache = new MailboxIndexCache(store.mail);
  let n = 0;
  const deliver = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      n++;
      await deliverText(store, bob, `Subject: m${n}\r\n\r\nbody\r\n`, { queueId: `Q${n}`, receivedAt: NOW });
    }
  };
  const session = async (): Promise<ImapSend> => {
    const send = imapSession(store, { indexCache, now: () => NOW });
    assert.match(await send('l LOGIN bob@example.test x'), /^l OK/);
    return send;
  };
  return { deliver, session };
}

test('RFC 3501 2.3.2: the first SELECT gets the new mail as \\Recent, the second none; FETCH and SEARCH agree', async () => {
  const { deliver, session } = await server();
  await deliver(3);
  const s1 = await session();
  const s2 = await session();
  assert.match(await s1('a SELECT INBOX'), /\* 3 EXISTS\r\n\* 3 RECENT\r\n[^]*a OK \[READ-WRITE\]/);
  assert.match(await s2('a SELECT INBOX'), /\* 3 EXISTS\r\n\* 0 RECENT\r\n[^]*a OK \[READ-WRITE\]/);
  // RFC 3501 2.3.2: \Recent is a flag FETCH shows, in the session that has it only.
  assert.match(
    await s1('b FETCH 1:* FLAGS'),
    /^\* 1 FETCH \(FLAGS \(\\Recent\)\)\r\n\* 2 FETCH[^]*\* 3 FETCH \(FLAGS \(\\Recent\)\)/,
  );
  assert.match(await s1('b2 FETCH 2 (FLAGS UID RFC822.SIZE)'), /\* 2 FETCH \(FLAGS \(\\Recent\) UID 2 /);
  assert.match(
    await s2('b FETCH 1:* FLAGS'),
    /^\* 1 FETCH \(FLAGS \(\)\)\r\n\* 2 FETCH \(FLAGS \(\)\)\r\n\* 3/,
  );
  // STORE answers with every flag the message has, \Recent included (RFC 3501 6.4.6), and cannot change it.
  assert.match(await s1('c STORE 1 +FLAGS (\\Seen)'), /^\* 1 FETCH \(FLAGS \(\\Seen \\Recent\)\)\r\nc OK/);
  assert.match(await s1('c2 STORE 2 +FLAGS (\\Recent)'), /^c2 BAD/);
  assert.match(await s1('c3 STORE 2 -FLAGS (\\Recent)'), /^c3 BAD/);
  // RFC 3501 6.4.4: NEW = RECENT UNSEEN, OLD = NOT RECENT.
  assert.match(await s1('d SEARCH RECENT'), /^\* SEARCH 1 2 3\r\n/);
  assert.match(await s1('d SEARCH NEW'), /^\* SEARCH 2 3\r\n/);
  assert.match(await s1('d SEARCH OLD'), /^\* SEARCH\r\n/);
  assert.match(await s1('d SEARCH NOT RECENT SEEN'), /^\* SEARCH\r\n/);
  assert.match(await s2('d SEARCH RECENT'), /^\* SEARCH\r\n/);
  assert.match(await s2('d SEARCH OLD'), /^\* SEARCH 1 2 3\r\n/);
  assert.match(await s2('d SEARCH NEW'), /^\* SEARCH\r\n/);
  // A third session, after both: still nothing recent; STATUS RECENT counts what nobody claimed.
  const s3 = await session();
  assert.match(await s3('e STATUS INBOX (MESSAGES RECENT)'), /\* STATUS "INBOX" \(MESSAGES 3 RECENT 0\)/);
  assert.match(await s3('e SELECT INBOX'), /\* 0 RECENT\r\n/);
  // Expunged messages leave the recent set; the sequence numbers follow (RFC 3501 7.4.1).
  await s1('f STORE 1 +FLAGS.SILENT (\\Deleted)');
  assert.match(await s1('f EXPUNGE'), /\* 1 EXPUNGE\r\n/);
  assert.match(await s1('f SEARCH RECENT'), /^\* SEARCH 1 2\r\n/);
  // ... and from the count RECENT reports next (RFC 3501 7.3.2: the number of recent messages).
  await deliver(1);
  assert.match(await s1('g NOOP'), /^\* 3 EXISTS\r\n\* 3 RECENT\r\ng OK/);
});

test('RFC 3501 7.3.2: new mail comes with EXISTS and RECENT; it is recent in the session that notices it first', async () => {
  const { deliver, session } = await server();
  await deliver(2);
  const s1 = await session();
  const s2 = await session();
  assert.match(await s1('a SELECT INBOX'), /\* 2 RECENT\r\n/);
  assert.match(await s2('a SELECT INBOX'), /\* 0 RECENT\r\n/);
  await deliver(1);
  assert.match(await s2('b NOOP'), /^\* 3 EXISTS\r\n\* 1 RECENT\r\nb OK/);
  assert.match(await s1('b NOOP'), /^\* 3 EXISTS\r\n\* 2 RECENT\r\nb OK/);
  assert.match(await s2('c SEARCH RECENT'), /^\* SEARCH 3\r\n/);
  assert.match(await s1('c SEARCH RECENT'), /^\* SEARCH 1 2\r\n/);
  assert.match(await s2('c FETCH 3 FLAGS'), /^\* 3 FETCH \(FLAGS \(\\Recent\)\)/);
  // Another session's flag change is reported with \Recent where this session has it (RFC 3501 7.4.2).
  await s1('d STORE 3 +FLAGS.SILENT (\\Flagged)');
  assert.match(await s2('d NOOP'), /^\* 3 FETCH \(FLAGS \(\\Flagged \\Recent\) UID 3\)\r\n/);
  // APPEND to the selected mailbox: the normal new-message actions (RFC 3501 6.3.11), recent here.
  assert.match(
    await s1('e APPEND INBOX (\\Seen)', Buffer.from('Subject: a\r\n\r\nx\r\n')),
    /^\* 4 EXISTS\r\n\* 3 RECENT\r\ne OK \[APPENDUID \d+ 4\]/,
  );
  assert.match(await s1('e2 SEARCH NEW'), /^\* SEARCH 1 2\r\n/);
  assert.match(await s2('e3 NOOP'), /^\* 4 EXISTS\r\n\* 1 RECENT\r\n/);
});

test('RFC 3501 6.3.2: EXAMINE sees \\Recent but takes it from nobody; STATUS RECENT counts it', async () => {
  const { deliver, session } = await server();
  await deliver(2);
  const s1 = await session();
  assert.match(await s1('a STATUS INBOX (RECENT)'), /\* STATUS "INBOX" \(RECENT 2\)/);
  assert.match(await s1('b EXAMINE INBOX'), /\* 2 RECENT\r\n[^]*b OK \[READ-ONLY\]/);
  assert.match(await s1('c FETCH 1 FLAGS'), /\* 1 FETCH \(FLAGS \(\\Recent\)\)/);
  await deliver(1);
  assert.match(await s1('d NOOP'), /^\* 3 EXISTS\r\n\* 3 RECENT\r\n/);
  const s2 = await session();
  assert.match(await s2('a STATUS INBOX (RECENT)'), /\(RECENT 3\)/);
  assert.match(await s2('b SELECT INBOX'), /\* 3 RECENT\r\n/);
  assert.match(await s2('c STATUS INBOX (RECENT)'), /\(RECENT 0\)/);
  const s3 = await session();
  assert.match(await s3('b EXAMINE INBOX'), /\* 0 RECENT\r\n/);
});

test('RFC 9051 2.3.2: an IMAP4rev2 session never sees \\Recent and never claims it from rev1 sessions', async () => {
  const { deliver, session } = await server();
  await deliver(2);
  const r2 = await session();
  assert.match(await r2('a ENABLE IMAP4rev2'), /\* ENABLED IMAP4REV2/i);
  const sel = await r2('b SELECT INBOX');
  assert.match(sel, /\* 2 EXISTS\r\n/);
  assert.doesNotMatch(sel, /RECENT/);
  assert.match(await r2('c FETCH 1:* FLAGS'), /^\* 1 FETCH \(FLAGS \(\)\)\r\n\* 2 FETCH \(FLAGS \(\)\)\r\n/);
  assert.match(await r2('d SEARCH RECENT'), /^\* ESEARCH \(TAG "d"\)\r\n/);
  assert.match(await r2('e SEARCH OLD'), /^\* ESEARCH \(TAG "e"\) ALL 1:2\r\n/);
  assert.match(await r2('f STATUS Sent (RECENT)'), /\(RECENT 0\)/);
  await deliver(1);
  assert.doesNotMatch(await r2('g NOOP'), /RECENT/);
  const r1 = await session();
  assert.match(await r1('a SELECT INBOX'), /\* 3 EXISTS\r\n\* 3 RECENT\r\n/);
});
