// New keywords are announced with FLAGS/PERMANENTFLAGS before any FETCH shows them, in every session (RFC 9051 7.3.5, RFC 3501 7.2.6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MailboxIndexCache } from '../../../src/imap/mailbox-index-cache.js';
import type { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { deliverText, imapSession, openTestStore, type ImapSend } from '../../helpers/imap-session.js';

async function twoSessions(): Promise<{ s1: ImapSend; s2: ImapSend; store: SqliteStore; bob: number }> {
  const { store, bob } = await openTestStore();
  const indexCache = new MailboxIndexCache(store.mail);
  await deliverText(store, bob, 'Subject: one\r\n\r\nbody\r\n', { queueId: 'Q1' });
  await deliverText(store, bob, 'Subject: two\r\n\r\nbody\r\n', { queueId: 'Q2' });
  const open = async (): Promise<ImapSend> => {
    const send = imapSession(store, { indexCache });
    assert.match(await send('l LOGIN bob@example.test x'), /^l OK/);
    assert.match(await send('s SELECT INBOX'), /s OK/);
    return send;
  };
  return { s1: await open(), s2: await open(), store, bob };
}

/** Index of the first FETCH showing `keyword`, and of the FLAGS response listing it: FLAGS must come first. */
function assertAnnouncedBefore(reply: string, keyword: string): void {
  const lines = reply.split('\r\n');
  const fetchAt = lines.findIndex((l) => / FETCH \(/.test(l) && l.includes(keyword));
  const flagsAt = lines.findIndex((l) => l.startsWith('* FLAGS (') && l.includes(keyword));
  const permAt = lines.findIndex((l) => l.startsWith('* OK [PERMANENTFLAGS (') && l.includes(keyword));
  assert.ok(fetchAt >= 0, `no FETCH shows ${keyword}:\n${reply}`);
  assert.ok(flagsAt >= 0 && flagsAt < fetchAt, `FLAGS with ${keyword} not before its FETCH:\n${reply}`);
  assert.ok(
    permAt >= 0 && permAt < fetchAt,
    `PERMANENTFLAGS with ${keyword} not before its FETCH:\n${reply}`,
  );
  // PERMANENTFLAGS keeps \* (new keywords may still be created).
  assert.match(lines[permAt] as string, /\\\*\)\]/);
}

test('RFC 9051 7.3.5: STORE of a new keyword sends FLAGS and PERMANENTFLAGS (with \\*) before the FETCH', async () => {
  const { s1 } = await twoSessions();
  const r = await s1('a STORE 1 +FLAGS ($hello $world)');
  assertAnnouncedBefore(r, '$hello');
  assertAnnouncedBefore(r, '$world');
  assert.match(r, /a OK/);
  // Announced once: the same keyword again, or in another case, sends no second FLAGS.
  const again = await s1('b STORE 2 +FLAGS ($HELLO)');
  assert.doesNotMatch(again, /\* FLAGS/);
  // .SILENT shows no FETCH, but the mailbox now uses the keyword: FLAGS still says so.
  assert.match(await s1('c STORE 2 +FLAGS.SILENT ($silent)'), /^\* FLAGS \([^)]*\$silent\)\r\n/);
});

test('RFC 9051 7.3.5: a keyword set by another session is in FLAGS before this session sees it (NOOP, FETCH)', async () => {
  const { s1, s2 } = await twoSessions();
  await s1('a STORE 2 +FLAGS ($other)');
  const r = await s2('b NOOP');
  assertAnnouncedBefore(r, '$other');
  // A later SELECT lists the keywords the messages already carry.
  assert.match(
    await s2('c SELECT INBOX'),
    /\* FLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft \$other\)/,
  );
});

test('RFC 9051 7.3.5: APPEND with a new keyword into the selected mailbox: FLAGS before the FETCH of it', async () => {
  const { s1, s2 } = await twoSessions();
  assert.match(await s2('a APPEND INBOX ($appended)', Buffer.from('Subject: a\r\n\r\nhi\r\n')), /a OK/);
  // Announced with the new message (before EXISTS), so it is known when a FETCH shows it.
  assert.match(
    await s1('b NOOP'),
    /^\* FLAGS \([^)]*\$appended\)\r\n\* OK \[PERMANENTFLAGS [^\r]*\r\n\* 3 EXISTS/,
  );
  assert.match(await s1('c FETCH 3 FLAGS'), /^\* 3 FETCH \(FLAGS \(\$appended\)\)/);
});

test('EXAMINE: the FLAGS keep growing, PERMANENTFLAGS stays empty (read-only)', async () => {
  const { s1, s2 } = await twoSessions();
  assert.match(await s2('e EXAMINE INBOX'), /\* OK \[PERMANENTFLAGS \(\)\]/);
  await s1('a STORE 1 +FLAGS ($ro)');
  const r = await s2('b NOOP');
  assert.match(
    r,
    /^\* FLAGS \([^)]*\$ro\)\r\n\* OK \[PERMANENTFLAGS \(\)\] [^\r]*\r\n\* 1 FETCH \(FLAGS \(\$ro\)/,
  );
});

test('RFC 9051 7.3.5: a keyword set through JMAP (Email/set keywords) is in FLAGS before the IMAP session shows it', async () => {
  const { s1, store, bob } = await twoSessions();
  const [email] = store.jmap.objectIds(bob, [1]);
  assert.ok(email);
  await store.jmap.setKeywords(bob, [email.emailId], ['$jmap', '$seen']);
  assertAnnouncedBefore(await s1('a NOOP'), '$jmap');
});
