// SEARCH header keys through the stored header index (RFC 9051 6.4.4): table rows through a session, then the index format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requiredHeaderText } from '../../../src/imap/commands/search.js';
import { isParseError, parseImapCommand } from '../../../src/imap/proto/command-parser.js';
import { headerIndexValues } from '../../../src/store/mail-store.js';
import { buildHeaderIndex, HeaderIndexCache } from '../../../src/store/sqlite/mail-headers.js';
import { deliverText, imapSession, openTestStore, TEST_NOW } from '../../helpers/imap-session.js';

const MESSAGES = [
  // 1: plain
  'From: Alice <alice@remote.example>\r\nSubject: Invoice 42\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nbody one\r\n',
  // 2: RFC 2047 encoded subject (café), folded To, X-Tag
  'From: Bob <bob@remote.example>\r\nTo: a@example.test,\r\n b@example.test\r\nSubject: =?utf-8?q?caf=C3=A9?= time\r\nX-Tag: green\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\ninvoice in the body only\r\n',
  // 3: bare LF line ends, no Date
  'From: carol@remote.example\nSubject: hello INVOICE\n\nthird\n',
  // 4: no header at all (starts with the blank line)
  '\r\njust a body with Subject: invoice\r\n',
  // 5: comments inside the addr-spec (RFC 5322 3.4.1 CFWS): the envelope address is dave@remote.example
  'From: <dave (comment)@ (comment) remote.example>\r\nTo: "Eve Q" <eve@example.test>\r\n\r\nfifth\r\n',
];

async function setup() {
  const { store, bob } = await openTestStore({ clock: () => TEST_NOW });
  for (const text of MESSAGES) await deliverText(store, bob, text);
  const send = imapSession(store);
  await send('a LOGIN bob@example.test x');
  // UTF-8 in quoted strings (RFC 6855 3), for the café rows.
  await send('e ENABLE UTF8=ACCEPT');
  await send('b SELECT INBOX');
  return { send, store };
}

/** The sequence numbers a SEARCH returned. */
const hits = (reply: string): string =>
  /^\* SEARCH([^\r]*)\r\n/.exec(reply)?.[1]?.trim() ?? `no SEARCH in ${reply}`;

// RFC 9051 6.4.4 rows first (SUBJECT, FROM, HEADER, SENTON/SENTBEFORE), then combinations that the
// store-side prefilter (requiredHeaderText) must not get wrong, then hostile rows.
const ROWS: Array<[string, string]> = [
  ['SUBJECT invoice', '1 3'],
  ['SUBJECT INVOICE', '1 3'],
  ['CHARSET UTF-8 SUBJECT "café"', '2'],
  ['SUBJECT "CAFÉ TIME"', '2'],
  ['FROM bob', '2'],
  ['TO b@example.test', '2'],
  ['HEADER X-Tag green', '2'],
  ['HEADER X-Tag ""', '2'],
  ['HEADER Date ""', '1 2'],
  ['SENTON 24-Nov-2026', '2'],
  ['SENTBEFORE 24-Nov-2026', '1'],
  ['SENTSINCE 24-Nov-2026', '2'],
  ['BODY invoice', '2 4'],
  ['TEXT invoice', '1 2 3 4'],
  ['OR SUBJECT invoice FROM bob', '1 2 3'],
  ['NOT SUBJECT invoice', '2 4 5'],
  // RFC 9051 6.4.4: FROM/TO match the envelope's address, not only the header text (imaptest search-addresses).
  ['FROM dave@remote.example', '5'],
  ['FROM "dave@remote"', '5'],
  ['FROM dave', '5'],
  ['TO "eve q eve@example.test"', '5'],
  ['HEADER From "dave@remote.example"', '5'],
  ['FROM "dave@remote.example.org"', ''],
  ['SUBJECT invoice NOT FROM carol', '1'],
  ['SUBJECT invoice FROM carol', '3'],
  ['SUBJECT invoice BODY third', '3'],
  ['UNSEEN SUBJECT hello', '3'],
  ['OR HEADER X-Tag "" SUBJECT hello', '2 3'],
  // The prefilter finds "42" and "date" in message 1's index text, but not in one Subject field.
  ['SUBJECT "42 date"', ''],
  ['HEADER Subject "mon, 23"', ''],
  ['SUBJECT nothing-like-this', ''],
  ['HEADER "X-Nope" ""', ''],
];

test('SEARCH header keys: RFC 9051 6.4.4 rows, prefilter combinations, hostile rows', async () => {
  const { send } = await setup();
  for (const [key, want] of ROWS) assert.equal(hits(await send(`s SEARCH ${key}`)), want, key);
  // A second run answers from the memory cache, the same.
  for (const [key, want] of ROWS) {
    assert.equal(hits(await send(`s SEARCH ${key}`)), want, `${key} (cached)`);
  }
});

test('requiredHeaderText: only keys every match must satisfy filter in the store', () => {
  const cmd = (text: string) => {
    const c = parseImapCommand({ segments: [Buffer.from(`t SEARCH ${text}`)], literals: [] });
    if (isParseError(c) || c.name !== 'SEARCH') throw new Error('parse');
    return c.key;
  };
  assert.equal(requiredHeaderText(cmd('SUBJECT Invoice')), 'invoice');
  assert.equal(requiredHeaderText(cmd('HEADER X-Tag ""')), '\nx-tag:');
  assert.equal(requiredHeaderText(cmd('UNSEEN FROM Bob')), 'bob');
  // May match the envelope form only (comments around the '@'): filter on the field being there.
  assert.equal(requiredHeaderText(cmd('FROM bob@remote.example')), '\nfrom:');
  assert.equal(requiredHeaderText(cmd('SUBJECT a@b')), 'a@b');
  assert.equal(requiredHeaderText(cmd('OR SUBJECT a FROM b')), null);
  assert.equal(requiredHeaderText(cmd('NOT SUBJECT a')), null);
  assert.equal(requiredHeaderText(cmd('UNSEEN')), null);
});

test('buildHeaderIndex and headerIndexValues: format rows, then hostile ones', () => {
  const idx = buildHeaderIndex(
    Buffer.from('Subject: =?ISO-8859-1?Q?Caf=E9?=\r\n  folded\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody: no\r\n'),
  );
  assert.equal(idx, '\nsubject:café  folded\nx-a:1\nx-a:2');
  assert.deepEqual(headerIndexValues(idx, 'x-a'), ['1', '2']);
  assert.deepEqual(headerIndexValues(idx, 'subject'), ['café  folded']);
  assert.deepEqual(headerIndexValues(idx, 'body'), [], 'the body is not header');
  assert.deepEqual(headerIndexValues(idx, 'x'), [], 'a prefix of a name is not the name');
  assert.equal(buildHeaderIndex(Buffer.alloc(0)), '');
  assert.equal(buildHeaderIndex(Buffer.from('no colon here\r\n\r\n')), '');
  // An encoded word that decodes to a line break cannot break the one-field-a-line format.
  const nl = buildHeaderIndex(Buffer.from('Subject: =?utf-8?q?a=0Ab?=\r\n\r\n'));
  assert.equal(nl, '\nsubject:a b');
  // NUL and 8-bit bytes stay inside their field.
  const raw = buildHeaderIndex(Buffer.from('Subject: a\0b \xff\r\n\r\n', 'latin1'));
  assert.equal(headerIndexValues(raw, 'subject').length, 1);
});

test('HeaderIndexCache: pages of neighbouring ids, first set wins, bounded with the oldest page evicted', () => {
  const cache = new HeaderIndexCache(3 * 4096 + 100);
  assert.equal(cache.get(5), undefined);
  cache.set(5, 'a');
  cache.set(5, 'changed'); // a message never changes: the first index stays
  assert.equal(cache.get(5), 'a');
  assert.equal(cache.get(6), undefined);
  cache.set(1023, 'b'); // same page as 5
  cache.set(1024, 'c'); // the next page
  assert.deepEqual([cache.get(5), cache.get(1023), cache.get(1024)], ['a', 'b', 'c']);
  cache.set(5000, 'd'); // a third page: still within 3 pages
  assert.equal(cache.get(5), 'a');
  cache.set(9000, 'e'); // a fourth page: over the budget, the oldest page (ids 0-1023) goes
  assert.deepEqual(
    [cache.get(5), cache.get(1023), cache.get(1024), cache.get(5000), cache.get(9000)],
    [undefined, undefined, 'c', 'd', 'e'],
  );
  cache.set(7, 'x'.repeat(200)); // alone bigger than the room left: evicts others, never itself
  assert.equal(cache.get(7)?.length, 200);
  // Larger than the whole budget: not kept at all.
  cache.set(8, 'y'.repeat(3 * 4096 + 100));
  assert.equal(cache.get(8), undefined);
});

test('HeaderIndexCache: ids past 2^32 do not wrap onto small ones', () => {
  const cache = new HeaderIndexCache();
  cache.set(5, 'small');
  cache.set(2 ** 32 + 5, 'big');
  cache.set(2 ** 40 + 5, 'bigger');
  assert.deepEqual(
    [cache.get(5), cache.get(2 ** 32 + 5), cache.get(2 ** 40 + 5)],
    ['small', 'big', 'bigger'],
  );
});
