// SEARCH header keys through the stored header index (RFC 9051 6.4.4): table rows through a session, then the index format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  inValue,
  needleInValue,
  notPlainWithin,
  requiredHeaderText,
} from '../../../src/imap/commands/search.js';
import { isParseError, parseImapCommand } from '../../../src/imap/proto/command-parser.js';
import { headerIndexValues } from '../../../src/store/mail-store.js';
import { HeaderIndexCache, PAGE_COST } from '../../../src/store/sqlite/header-index-cache.js';
import { buildHeaderIndex } from '../../../src/store/sqlite/mail-headers.js';
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
  const cache = new HeaderIndexCache(3 * PAGE_COST + 100);
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
  cache.set(8, 'y'.repeat(3 * PAGE_COST + 100));
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

/** What lookup() gives: per id the text (or null when filtered out), and the ids it does not hold. */
function lookup(cache: HeaderIndexCache, ids: number[], containing: string | null) {
  const texts = new Array<string | null>(ids.length);
  const missing: number[] = [];
  cache.lookup(ids, containing, texts, missing);
  return { texts: ids.map((_, i) => (missing.includes(i) ? 'missing' : texts[i])), missing };
}

test('HeaderIndexCache.lookup: a match across two entries of one page is no match (each text is its own)', () => {
  const cache = new HeaderIndexCache();
  // Added together, so their bytes lie back to back: "...hello" + "\nfrom:..." + "" + "\nsubject:x".
  cache.add([1, 2, 3, 4], ['\nsubject:hello', '\nfrom:bob', '', '\nsubject:x']);
  assert.deepEqual(lookup(cache, [1, 2, 3, 4], 'hello\nfrom').texts, [null, null, null, null]);
  assert.deepEqual(lookup(cache, [1, 2, 3, 4], 'bob\nsubject').texts, [null, null, null, null]);
  // The same needles inside one entry match; an empty entry matches only the empty needle.
  assert.deepEqual(lookup(cache, [1, 2, 3, 4], '\nfrom').texts, [null, '\nfrom:bob', null, null]);
  assert.deepEqual(lookup(cache, [1, 2, 3, 4], '\nsubject:').texts, [
    '\nsubject:hello',
    null,
    null,
    '\nsubject:x',
  ]);
  assert.deepEqual(lookup(cache, [3, 4], '').texts, ['', '\nsubject:x']);
  // A straddling hit, then a real one later in the next entry: the search goes on and finds it.
  cache.add([10, 11], ['\nsubject:ab', 'c\nx:abc']);
  assert.deepEqual(lookup(cache, [10, 11], 'abc').texts, [null, 'c\nx:abc']);
  // Unknown ids are missing, in order; the held ones are still answered.
  assert.deepEqual(lookup(cache, [99, 1, 5000], 'hello'), {
    texts: ['missing', '\nsubject:hello', 'missing'],
    missing: [0, 2],
  });
});

test('HeaderIndexCache.lookup: non-ASCII texts and needles give String.prototype.includes results', () => {
  const cache = new HeaderIndexCache();
  const texts = [
    '\nsubject:café',
    '\nsubject:cafe\u0301',
    '\nsubject:日本語のメール',
    '\nfrom:ü@x',
    '\nsubject:😀 ok',
    '\nsubject:\ufffd',
  ];
  const ids = texts.map((_, i) => 2048 + i);
  cache.add(ids, texts);
  const needles = [
    'café',
    'caf',
    'é',
    'e\u0301',
    '本語',
    '語の',
    'ü@',
    '😀',
    '\ud83d',
    '\ude00',
    '\ufffd',
    'ok',
    '\u00e9',
  ];
  for (const needle of needles) {
    assert.deepEqual(
      lookup(cache, ids, needle).texts,
      texts.map((t) => (t.includes(needle) ? t : null)),
      JSON.stringify(needle),
    );
  }
  assert.deepEqual(lookup(cache, ids, null).texts, texts);
});

test('HeaderIndexCache.lookup: many entries of a page, added in several batches, out of order', () => {
  const cache = new HeaderIndexCache();
  const text = (id: number) =>
    `\nfrom:sender${id % 97}@remote.example\nsubject:message ${id} ${id % 7 === 0 ? 'invoice' : 'hello'}`;
  const ids = Array.from({ length: 3000 }, (_, i) => 100 + i);
  // Batches as SEARCH chunks load them, the later ones first, one of them reversed.
  for (const batch of [ids.slice(2000), ids.slice(1000, 2000).reverse(), ids.slice(0, 1000)]) {
    cache.add(batch, batch.map(text));
  }
  for (const needle of [null, 'invoice', 'sender12@', '\nfrom:', 'nothing']) {
    const want = ids.map((id) => (needle === null || text(id).includes(needle) ? text(id) : null));
    assert.deepEqual(lookup(cache, ids, needle).texts, want, String(needle));
    // A subset, not in id order (COPY and APPEND give a view ids out of order).
    const some = [ids[2500] as number, ids[3] as number, ids[1500] as number, ids[4] as number];
    assert.deepEqual(
      lookup(cache, some, needle).texts,
      some.map((id) => (needle === null || text(id).includes(needle) ? text(id) : null)),
    );
  }
});

test('HeaderIndexCache: the default budget holds the IMAP bench mix (5 x 10,000 messages) without evicting', () => {
  // Issue 9: at 8 M characters of one string per message these did not fit, so every SEARCH of the mix
  // reloaded its mailbox from SQLite (and the strings churned through the GC).
  const cache = new HeaderIndexCache();
  const index = (i: number) =>
    `\nreturn-path:<sender@remote.example>\nfrom:sender${i % 97}@remote.example\nto:user@example.test` +
    `\nsubject:message ${i} ${i % 7 === 0 ? 'invoice' : 'hello'}\ndate:mon, 23 nov 2026 10:00:00 +0000` +
    `\nmessage-id:<${i}@remote.example>`;
  const ids = Array.from({ length: 50_000 }, (_, i) => 1 + i);
  // In batches of 1,000 ids, as SEARCH's chunks load them.
  for (let f = 0; f < ids.length; f += 1000) {
    const batch = ids.slice(f, f + 1000);
    cache.add(
      batch,
      batch.map((id) => index((id - 1) % 10_000)),
    );
  }
  const held = ids.filter((id) => cache.get(id) === index((id - 1) % 10_000)).length;
  assert.equal(held, ids.length);
});

test('header keys match within one value of the field: a later value, not the next field, not across the line', async () => {
  // The values are found in place in the index (search.ts headerMatches): these pin what the per-value
  // matching did, at the edges where offsets into the whole index could go wrong.
  const { store, bob } = await openTestStore({ clock: () => TEST_NOW });
  const texts = [
    // 1: the field twice, only the second value has the needle
    'X-Tag: red\r\nX-Tag: green\r\nSubject: plain\r\n\r\nb\r\n',
    // 2: the needle only in the field after SUBJECT; an '@' ending the From value (a regex for the
    // envelope form must not match across the line break after it)
    'From: x@\r\nSubject: hello\r\nX-Other: invoice\r\n\r\nb\r\n',
    // 3: the needle right at the end of the last field of the index
    'Subject: hello\r\nX-Last: ends with invoice\r\n\r\nb\r\n',
  ];
  for (const [i, text] of texts.entries()) await deliverText(store, bob, text, { queueId: `E${i}` });
  const send = imapSession(store);
  await send('a LOGIN bob@example.test x');
  await send('b SELECT INBOX');
  const rows: Array<[string, string]> = [
    ['HEADER X-Tag green', '1'],
    ['HEADER X-Tag red', '1'],
    ['HEADER X-Tag "red x"', ''],
    ['SUBJECT invoice', ''],
    ['HEADER X-Other invoice', '2'],
    ['HEADER X-Last invoice', '3'],
    ['HEADER X-Last "invoice x"', ''],
    ['FROM "x@"', '2'],
    ['FROM "@ "', ''],
  ];
  for (const [criteria, want] of rows) assert.equal(hits(await send(`s SEARCH ${criteria}`)), want, criteria);
});

test('the in-place value checks say what the regex and includes say on the sliced value', () => {
  // Seeded, so a failure repeats: every character class ADDRESS_NOT_PLAIN (search.ts) tells apart, and
  // regex syntax in needles. A value ends at the next line break (or the end), as in a header index.
  const alphabet = [
    'a',
    'b',
    '@',
    '(',
    '"',
    '\\',
    ' ',
    '\t',
    '\n',
    '\u00a0',
    '\u2003',
    '\ufeff',
    'é',
    ')',
    '.',
    '*',
    '[',
  ];
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const word = (len: number): string =>
    Array.from({ length: len }, () => alphabet[rand(alphabet.length)]).join('');
  for (let i = 0; i < 5000; i++) {
    const s = word(1 + rand(12));
    const start = rand(s.length + 1);
    const nl = s.indexOf('\n', start);
    const end = nl < 0 ? s.length : nl;
    const value = s.slice(start, end);
    const where = JSON.stringify([s, start, end]);
    assert.equal(notPlainWithin(s, start, end), /[("\\]|\s@|@\s/.test(value), where);
    const needle = word(1 + rand(3));
    assert.equal(inValue(needleInValue(needle), s, start, end), value.includes(needle), `${needle} ${where}`);
  }
});
