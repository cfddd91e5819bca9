// Email/query (RFC 8621 4.4): every FilterCondition and sort as table rows, operators, collapseThreads, windows, errors, the fast path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mailBench, type MailBench } from '../../../helpers/jmap-mail.js';

let b: MailBench;
const id: Record<string, string> = {};

const M1 = `From: Alice <alice@a.test>
To: Bob <bob@example.test>
Subject: Lunch plans
Date: Mon, 01 Jan 2024 10:00:00 +0000
Message-ID: <m1@a.test>

Let's meet at noon by the fountain.
`;
const M2 = `From: "Zed" <zed@z.test>
To: carol@c.test
Cc: dave@d.test
Subject: Re: Lunch plans
Date: Sun, 31 Dec 2023 09:00:00 +0000
Message-ID: <m2@z.test>
In-Reply-To: <m1@a.test>
References: <m1@a.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Sure, see the menu attached. Caf=C3=A9 is fine.
--b1
Content-Type: application/pdf; name="menu.pdf"
Content-Disposition: attachment; filename="menu.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--b1--
`;
const M3 = `From: bob@example.test
To: Alice <alice@a.test>
Subject: Budget 2024
Date: Wed, 03 Jan 2024 12:00:00 +0000
Message-ID: <m3@example.test>
X-Priority: 1
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<p>The <b>quarterly</b> numbers &amp; forecasts</p>
`;
const M4 = `From: Carol <carol@c.test>
To: bob@example.test
Bcc: secret@s.test
Subject: hello
Date: Thu, 04 Jan 2024 08:00:00 +0000
Message-ID: <m4@c.test>

${'padding line\n'.repeat(200)}`;

before(async () => {
  b = await mailBench();
  id.m1 = await b.add('INBOX', M1, { flags: ['\\Seen'], at: new Date('2024-01-01T10:00:00Z') });
  id.m2 = await b.add('INBOX', M2, { flags: ['\\Flagged'], at: new Date('2024-01-02T10:00:00Z') });
  id.m3 = await b.add('Sent', M3, { flags: ['\\Seen', '$custom'], at: new Date('2024-01-03T10:00:00Z') });
  id.m4 = await b.add('INBOX', M4, { at: new Date('2024-01-04T10:00:00Z') });
});
after(() => b.close());

async function query(args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const [[name, result]] = (await b.call([['Email/query', { accountId: b.accountId, ...args }, 'q']])) as [
    [string, Record<string, unknown>, string],
  ];
  if (name === 'error') return { error: result.type, description: result.description };
  return result;
}

const names = (ids: unknown): string[] =>
  (ids as string[]).map((x) => Object.keys(id).find((k) => id[k] === x) ?? x);

describe('Email/query filters (RFC 8621 4.4.1), one row per FilterCondition property', () => {
  const rows: Array<[string, () => Record<string, unknown>, string[]]> = [
    ['no filter: everything, newest first', () => ({}), ['m4', 'm3', 'm2', 'm1']],
    ['inMailbox', () => ({ inMailbox: b.box('INBOX') }), ['m4', 'm2', 'm1']],
    ['inMailboxOtherThan', () => ({ inMailboxOtherThan: [b.box('INBOX')] }), ['m3']],
    ['inMailbox of no mailbox', () => ({ inMailbox: 'Fzzzz' }), []],
    ['before (receivedAt < before)', () => ({ before: '2024-01-02T10:00:00Z' }), ['m1']],
    ['after (receivedAt >= after)', () => ({ after: '2024-01-03T10:00:00Z' }), ['m4', 'm3']],
    ['minSize', () => ({ minSize: 2000 }), ['m4']],
    ['maxSize (size < maxSize)', () => ({ maxSize: 2000 }), ['m3', 'm2', 'm1']],
    ['hasKeyword $seen', () => ({ hasKeyword: '$seen' }), ['m3', 'm1']],
    ['hasKeyword is case-insensitive', () => ({ hasKeyword: '$Flagged' }), ['m2']],
    ['notKeyword $seen', () => ({ notKeyword: '$seen' }), ['m4', 'm2']],
    ['hasKeyword custom', () => ({ hasKeyword: '$custom' }), ['m3']],
    [
      'allInThreadHaveKeyword $seen (m2 is unseen in m1 thread)',
      () => ({ allInThreadHaveKeyword: '$seen' }),
      ['m3'],
    ],
    ['someInThreadHaveKeyword $seen', () => ({ someInThreadHaveKeyword: '$seen' }), ['m3', 'm2', 'm1']],
    ['noneInThreadHaveKeyword $seen', () => ({ noneInThreadHaveKeyword: '$seen' }), ['m4']],
    ['hasAttachment true', () => ({ hasAttachment: true }), ['m2']],
    ['hasAttachment false', () => ({ hasAttachment: false }), ['m4', 'm3', 'm1']],
    ['from (name)', () => ({ from: 'alice' }), ['m1']],
    ['from (address part)', () => ({ from: 'z.test' }), ['m2']],
    ['to', () => ({ to: 'alice@a.test' }), ['m3']],
    ['cc', () => ({ cc: 'dave' }), ['m2']],
    ['bcc', () => ({ bcc: 'secret' }), ['m4']],
    ['subject (case-insensitive)', () => ({ subject: 'LUNCH' }), ['m2', 'm1']],
    ['subject: every word must appear', () => ({ subject: 'lunch budget' }), []],
    ['body (text/plain)', () => ({ body: 'fountain' }), ['m1']],
    ['body (quoted-printable UTF-8)', () => ({ body: 'café' }), ['m2']],
    ['body (HTML text, tags and entities gone)', () => ({ body: 'quarterly numbers & forecasts' }), ['m3']],
    ['body does not search headers', () => ({ body: 'alice' }), []],
    ['text: header or body', () => ({ text: 'carol' }), ['m4', 'm2']],
    ['text: terms from header and body together', () => ({ text: 'alice fountain' }), ['m1']],
    ['text: "quoted phrase"', () => ({ text: '"the fountain"' }), ['m1']],
    ['header [name] present', () => ({ header: ['X-Priority'] }), ['m3']],
    ['header [name, value] contains', () => ({ header: ['message-id', 'c.test'] }), ['m4']],
    ['header [name, value] not contained', () => ({ header: ['message-id', 'nowhere'] }), []],
    ['several properties: all must hold', () => ({ inMailbox: b.box('INBOX'), hasKeyword: '$seen' }), ['m1']],
    [
      'AND',
      () => ({ operator: 'AND', conditions: [{ inMailbox: b.box('INBOX') }, { notKeyword: '$seen' }] }),
      ['m4', 'm2'],
    ],
    ['OR', () => ({ operator: 'OR', conditions: [{ from: 'alice' }, { bcc: 'secret' }] }), ['m4', 'm1']],
    [
      'NOT (none of)',
      () => ({ operator: 'NOT', conditions: [{ from: 'alice' }, { from: 'carol' }] }),
      ['m3', 'm2'],
    ],
    [
      'nested: NOT of OR inside AND, with a body search',
      () => ({
        operator: 'AND',
        conditions: [
          { operator: 'NOT', conditions: [{ operator: 'OR', conditions: [{ hasKeyword: '$flagged' }] }] },
          { operator: 'OR', conditions: [{ body: 'noon' }, { subject: 'hello' }] },
        ],
      }),
      ['m4', 'm1'],
    ],
    ['empty AND is true, empty OR is false', () => ({ operator: 'OR', conditions: [] }), []],
  ];
  for (const [name, filter, want] of rows) {
    test(name, async () => {
      const r = await query({ filter: filter() });
      assert.equal(r.error, undefined, String(r.description));
      assert.deepEqual(names(r.ids), want);
    });
  }
});

describe('Email/query sorts (RFC 8621 4.4.2)', () => {
  const rows: Array<[string, Array<Record<string, unknown>>, string[]]> = [
    ['receivedAt ascending', [{ property: 'receivedAt' }], ['m1', 'm2', 'm3', 'm4']],
    ['receivedAt descending', [{ property: 'receivedAt', isAscending: false }], ['m4', 'm3', 'm2', 'm1']],
    ['size descending', [{ property: 'size', isAscending: false }], ['m4', 'm2', 'm3', 'm1']],
    // from: the display name, else the address (alice, bob@example.test, carol, zed)
    ['from', [{ property: 'from' }], ['m1', 'm3', 'm4', 'm2']],
    // to: bob, carol@c.test, alice, bob@example.test
    ['to', [{ property: 'to', collation: 'i;ascii-casemap' }], ['m3', 'm1', 'm4', 'm2']],
    // subject: base subjects budget 2024, hello, lunch plans (x2: Re: removed; tie -> newest first)
    ['subject (base subject, RFC 5256)', [{ property: 'subject' }], ['m3', 'm4', 'm2', 'm1']],
    ['sentAt (Date header)', [{ property: 'sentAt' }], ['m2', 'm1', 'm3', 'm4']],
    [
      'hasKeyword $seen first',
      [{ property: 'hasKeyword', keyword: '$seen', isAscending: false }],
      ['m3', 'm1', 'm4', 'm2'],
    ],
    [
      'allInThreadHaveKeyword $seen',
      [{ property: 'allInThreadHaveKeyword', keyword: '$seen', isAscending: false }],
      ['m3', 'm4', 'm2', 'm1'],
    ],
    [
      'someInThreadHaveKeyword $seen',
      [{ property: 'someInThreadHaveKeyword', keyword: '$seen', isAscending: false }],
      ['m3', 'm2', 'm1', 'm4'],
    ],
    [
      'two comparators: hasKeyword $seen, then size',
      [{ property: 'hasKeyword', keyword: '$seen' }, { property: 'size' }],
      ['m2', 'm4', 'm1', 'm3'],
    ],
  ];
  for (const [name, sort, want] of rows) {
    test(name, async () => {
      const r = await query({ sort });
      assert.equal(r.error, undefined, String(r.description));
      assert.deepEqual(names(r.ids), want);
    });
  }

  test('i;ascii-numeric compares leading digits as numbers', async () => {
    const r = await query({
      sort: [{ property: 'subject', collation: 'i;ascii-numeric' }],
      filter: { subject: 'budget' },
    });
    assert.deepEqual(names(r.ids), ['m3']);
  });
});

describe('collapseThreads, windows and totals (RFC 8620 5.5, RFC 8621 4.4.3)', () => {
  test('collapseThreads keeps the first Email of each thread in sort order', async () => {
    const r = await query({ collapseThreads: true, calculateTotal: true });
    assert.deepEqual(names(r.ids), ['m4', 'm3', 'm2']);
    assert.equal(r.total, 3);
    assert.equal(r.canCalculateChanges, false);
  });

  test('position, limit, negative position, calculateTotal', async () => {
    let r = await query({ position: 1, limit: 2, calculateTotal: true });
    assert.deepEqual([names(r.ids), r.position, r.total, r.limit], [['m3', 'm2'], 1, 4, undefined]);
    r = await query({ position: -1 });
    assert.deepEqual([names(r.ids), r.position], [['m1'], 3]);
    r = await query({ position: -10, limit: 1 });
    assert.deepEqual([names(r.ids), r.position], [['m4'], 0]);
    r = await query({ position: 10 });
    assert.deepEqual([r.ids, r.position], [[], 10]);
  });

  test('anchor and anchorOffset (clamped to 0); position is then ignored', async () => {
    let r = await query({ anchor: id.m2, anchorOffset: -1, limit: 2, position: 3 });
    assert.deepEqual([names(r.ids), r.position], [['m3', 'm2'], 1]);
    r = await query({ anchor: id.m3, anchorOffset: -5 });
    assert.equal(r.position, 0);
    r = await query({ anchor: id.m3, filter: { inMailbox: b.box('INBOX') } });
    assert.equal(r.error, 'anchorNotFound');
  });

  test('the fast path (inMailbox, receivedAt desc) and the general path agree, window for window', async () => {
    const inbox = b.box('INBOX');
    for (const [position, limit] of [
      [0, 50],
      [1, 1],
      [-2, 5],
      [5, 5],
    ] as const) {
      const fast = await query({
        filter: { inMailbox: inbox },
        sort: [{ property: 'receivedAt', isAscending: false }],
        position,
        limit,
        calculateTotal: true,
      });
      const slow = await query({
        filter: { operator: 'AND', conditions: [{ inMailbox: inbox }] },
        position,
        limit,
        calculateTotal: true,
      });
      assert.deepEqual(
        [fast.ids, fast.position, fast.total],
        [slow.ids, slow.position, slow.total],
        `position ${position} limit ${limit}`,
      );
    }
  });

  test('queryState is the Email state; no limit: the server says its cap', async () => {
    const r = await query({});
    assert.equal(r.queryState, b.store.jmap.states(b.storeId).Email);
    assert.equal(typeof r.limit, 'number');
    assert.equal(r.canCalculateChanges, true);
  });
});

describe('Email/query errors and hostile rows', () => {
  const deep = (n: number): Record<string, unknown> => {
    let f: Record<string, unknown> = { hasKeyword: '$seen' };
    for (let i = 0; i < n; i++) f = { operator: 'NOT', conditions: [f] };
    return f;
  };
  const rows: Array<[string, Record<string, unknown>, string]> = [
    ['unknown condition property', { filter: { hasColour: 'red' } }, 'unsupportedFilter'],
    ['unknown operator', { filter: { operator: 'XOR', conditions: [] } }, 'unsupportedFilter'],
    ['10,000-deep NOT chain', { filter: deep(10_000) }, 'unsupportedFilter'],
    [
      'a 1,000-leaf OR',
      { filter: { operator: 'OR', conditions: Array.from({ length: 1000 }, () => ({ from: 'x' })) } },
      'unsupportedFilter',
    ],
    ['a condition of the wrong type', { filter: { minSize: 'big' } }, 'invalidArguments'],
    ['a date that is not a UTCDate', { filter: { before: '2024-01-01' } }, 'invalidArguments'],
    ['a bad keyword', { filter: { hasKeyword: 'a b' } }, 'invalidArguments'],
    ['header with three elements', { filter: { header: ['a', 'b', 'c'] } }, 'invalidArguments'],
    ['filter not an object', { filter: 'from:alice' }, 'invalidArguments'],
    ['unknown sort property', { sort: [{ property: 'colour' }] }, 'unsupportedSort'],
    ['unknown collation', { sort: [{ property: 'subject', collation: 'i;octet' }] }, 'unsupportedSort'],
    ['hasKeyword sort without keyword', { sort: [{ property: 'hasKeyword' }] }, 'unsupportedSort'],
    ['sort not an array', { sort: { property: 'size' } }, 'invalidArguments'],
    ['negative limit', { limit: -1 }, 'invalidArguments'],
    ['huge position is fine (empty)', { position: Number.MAX_SAFE_INTEGER }, 'ok'],
    ['position not an integer', { position: 1.5 }, 'invalidArguments'],
    ['anchor not an id', { anchor: 'no spaces allowed' }, 'invalidArguments'],
    ['anchor not in the results', { anchor: 'Mzzzz' }, 'anchorNotFound'],
  ];
  for (const [name, args, want] of rows) {
    test(name, async () => {
      const r = await query(args);
      assert.equal(r.error ?? 'ok', want, String(r.description));
    });
  }

  test("an account that is not the user's: accountNotFound", async () => {
    const [[name, r]] = (await b.call([['Email/query', { accountId: 'A999' }, 'q']])) as [
      [string, Record<string, unknown>, string],
    ];
    assert.deepEqual([name, r.type], ['error', 'accountNotFound']);
  });
});
