// RFC 5256 3 sort criteria, RFC 5957 DISPLAYFROM/DISPLAYTO and RFC 5256 2.2 sent dates on the pure sort engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRfc5322Date } from '../../../src/mail/headers.js';
import {
  compileSort,
  firstAddressKey,
  keysOf,
  sentDate,
  sortableMessage,
  type SortCriterion,
} from '../../../src/mail/sort.js';

interface Row {
  headers: Record<string, string>;
  arrival?: number;
  size?: number;
  keywords?: string[];
}

/** Sorts rows (order = position + 1) by the criteria; returns the orders. */
function sortRows(rows: Row[], criteria: SortCriterion[]): number[] {
  const keys = keysOf(criteria);
  const recs = rows.map((r, i) =>
    sortableMessage(
      {
        order: i + 1,
        arrival: r.arrival ?? 0,
        size: r.size ?? 0,
        header: (n) => r.headers[n],
        keywords: new Set(r.keywords ?? []),
      },
      keys,
    ),
  );
  return recs.sort(compileSort(criteria)).map((m) => m.order);
}

const asc = (key: Exclude<SortCriterion['key'], 'keyword'>): SortCriterion[] => [{ key, reverse: false }];
const desc = (key: Exclude<SortCriterion['key'], 'keyword'>): SortCriterion[] => [{ key, reverse: true }];

test('RFC 5256 2.2: the sent date is the Date header in UTC, else INTERNALDATE', () => {
  assert.equal(sentDate('Mon, 2 Nov 2026 10:00:00 +0200', 5), Date.UTC(2026, 10, 2, 8));
  assert.equal(sentDate('not a date', 5), 5);
  assert.equal(sentDate(undefined, 7), 7);
});

test('the canonical-date fast path of sentDate gives what parseRfc5322Date gives, invalid dates included', () => {
  const days = ['', 'Mon, ', 'tue,', 'Wed, '];
  const months = ['Jan', 'feb', 'MAR', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec', 'Foo'];
  fc.assert(
    fc.property(
      fc.record({
        dow: fc.constantFrom(...days),
        d: fc.integer({ min: 0, max: 32 }),
        mon: fc.constantFrom(...months),
        y: fc.integer({ min: 1970, max: 2100 }),
        h: fc.integer({ min: 0, max: 25 }),
        mi: fc.integer({ min: 0, max: 61 }),
        s: fc.option(fc.integer({ min: 0, max: 61 })),
        sign: fc.constantFrom('+', '-'),
        zone: fc.integer({ min: 0, max: 1439 }),
      }),
      (r) => {
        const p2 = (n: number): string => String(n).padStart(2, '0');
        const text =
          `${r.dow}${r.d} ${r.mon} ${r.y} ${p2(r.h)}:${p2(r.mi)}${r.s === null ? '' : ':' + p2(r.s)} ` +
          `${r.sign}${p2(Math.floor(r.zone / 60))}${p2(r.zone % 60)}`;
        const want = parseRfc5322Date(text);
        assert.equal(sentDate(text, -1), want === null ? -1 : want.getTime(), text);
      },
    ),
    { numRuns: 3000 },
  );
});

test('RFC 5256 3 FROM/TO/CC: addr-mailbox of the first address; RFC 5957 display: the name, else the addr-spec', () => {
  assert.equal(firstAddressKey('"Doe, Jane" <jane@example.org>, bob@x', false), 'jane');
  assert.equal(firstAddressKey('"Doe, Jane" <jane@example.org>, bob@x', true), 'Doe, Jane');
  assert.equal(firstAddressKey('<bob@example.org>', true), 'bob@example.org');
  // As in the IMAP ENVELOPE (and Dovecot's DISPLAYFROM), an old-style trailing comment is the name.
  assert.equal(firstAddressKey('bob@example.org (Bob)', true), 'Bob');
  // RFC 3501 7.4.2: a group's first address structure is its start marker, whose addr-mailbox is the
  // group name; it is the key for both forms (Dovecot; imaptest sort-addresses, sort-display-to).
  assert.equal(firstAddressKey('Friends: ann@x, bob@y;', false), 'Friends');
  assert.equal(firstAddressKey('Friends: ann@x, bob@y;', true), 'Friends');
  assert.equal(firstAddressKey('user2: blah@domain1.org;', false), 'user2');
  assert.equal(firstAddressKey('undisclosed-recipients:;', false), 'undisclosed-recipients');
  assert.equal(firstAddressKey('empty:;', true), 'empty');
  assert.equal(firstAddressKey(undefined, true), '');
  assert.equal(firstAddressKey('<>', false), '');
});

test('RFC 5256 3: each sort key, and REVERSE', () => {
  const rows: Row[] = [
    {
      headers: {
        subject: 'Re: beta',
        from: 'Zed <zed@a>',
        to: 'b@x',
        cc: 'y@x',
        date: 'Mon, 2 Nov 2026 10:00:00 +0000',
      },
      arrival: 30,
      size: 200,
    },
    {
      headers: {
        subject: 'alpha',
        from: 'amy@b',
        to: 'Carl <c@x>',
        cc: 'x@x',
        date: 'Mon, 2 Nov 2026 08:00:00 +0000',
      },
      arrival: 10,
      size: 300,
    },
    {
      headers: {
        subject: '[list] Gamma',
        from: 'Bob <bob@c>',
        to: 'a@x',
        date: 'Mon, 2 Nov 2026 09:00:00 -0200',
      },
      arrival: 20,
      size: 100,
    },
  ];
  assert.deepEqual(sortRows(rows, asc('arrival')), [2, 3, 1]);
  assert.deepEqual(sortRows(rows, desc('arrival')), [1, 3, 2]);
  // Message 3's date is 11:00 UTC: the zone counts.
  assert.deepEqual(sortRows(rows, asc('date')), [2, 1, 3]);
  assert.deepEqual(sortRows(rows, asc('size')), [3, 1, 2]);
  assert.deepEqual(sortRows(rows, asc('subject')), [2, 1, 3]);
  assert.deepEqual(sortRows(rows, asc('from')), [2, 3, 1]);
  assert.deepEqual(sortRows(rows, asc('to')), [3, 1, 2]);
  // A missing Cc is the empty string, which sorts first (RFC 5256 3).
  assert.deepEqual(sortRows(rows, asc('cc')), [3, 2, 1]);
  // DISPLAYFROM: "Zed", "amy@b", "Bob"; DISPLAYTO: "b@x", "Carl", "a@x".
  assert.deepEqual(sortRows(rows, asc('displayfrom')), [2, 3, 1]);
  assert.deepEqual(sortRows(rows, asc('displayto')), [3, 1, 2]);
});

test('RFC 5256 3: ties fall to the next criterion, then to mailbox order (not reversed by REVERSE)', () => {
  const rows: Row[] = [
    { headers: { subject: 'Same' }, size: 5 },
    { headers: { subject: 'same' }, size: 5 },
    { headers: { subject: 'Re: SAME' }, size: 9 },
    { headers: { subject: 'other' }, size: 5 },
  ];
  assert.deepEqual(sortRows(rows, asc('subject')), [4, 1, 2, 3]);
  assert.deepEqual(sortRows(rows, desc('subject')), [1, 2, 3, 4]);
  assert.deepEqual(
    sortRows(rows, [
      { key: 'subject', reverse: false },
      { key: 'size', reverse: true },
    ]),
    [4, 3, 1, 2],
  );
});

test('RFC 4790 i;ascii-casemap: "_" after letters, case ignored only for ASCII', () => {
  const rows: Row[] = [
    { headers: { subject: '_under' } },
    { headers: { subject: 'Zulu' } },
    { headers: { subject: 'alpha' } },
  ];
  assert.deepEqual(sortRows(rows, asc('subject')), [3, 2, 1]);
});

test('JMAP hasKeyword (RFC 8621 4.4.2) on the same engine: without the keyword first when ascending', () => {
  const rows: Row[] = [
    { headers: {}, keywords: ['$seen'] },
    { headers: {} },
    { headers: {}, keywords: ['$seen'] },
  ];
  assert.deepEqual(sortRows(rows, [{ key: 'keyword', keyword: '$seen', reverse: false }]), [2, 1, 3]);
  assert.deepEqual(sortRows(rows, [{ key: 'keyword', keyword: '$seen', reverse: true }]), [1, 3, 2]);
});
