// Table tests for parseImapCommand: RFC 9051 / RFC 3501 / extension examples first, then hostile rows.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ImapCommandReceiver } from '../../../../src/imap/proto/literal-receiver.js';
import { isParseError, parseImapCommand } from '../../../../src/imap/proto/command-parser.js';
import type { ImapCommand, ImapParseError } from '../../../../src/imap/proto/command-types.js';

/** Runs text (which may contain literals) through the receiver and the parser. */
function parse(text: string): ImapCommand | ImapParseError {
  const r = new ImapCommandReceiver();
  r.push(Buffer.from(text.endsWith('\n') ? text : text + '\r\n', 'utf8'));
  for (let ev = r.next(); ev; ev = r.next()) {
    if (ev.kind === 'command') return parseImapCommand(ev.command);
    if (ev.kind === 'reject') return { kind: 'parse-error', tag: ev.tag, text: ev.text };
  }
  throw new Error('no command');
}

function ok(text: string): ImapCommand {
  const r = parse(text);
  if (isParseError(r)) assert.fail(`${text}: ${r.text}`);
  return r;
}

/** Partial deep match: every key in `want` must equal the parsed command's. */
function like(text: string, want: Record<string, unknown>): void {
  test(text.replace(/\r\n/g, '⏎').slice(0, 100), () => {
    const got = ok(text) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `field ${k}`);
  });
}

const set = (...ranges: Array<[number | '*', number | '*']>): unknown => ({
  kind: 'set',
  ranges: ranges.map(([start, end]) => ({ start, end })),
});

describe('RFC 9051 / RFC 3501 examples', () => {
  like('abcd CAPABILITY', { tag: 'abcd', name: 'CAPABILITY' }); // 6.1.1
  like('a002 NOOP', { name: 'NOOP' }); // 6.1.2
  like('A023 LOGOUT', { name: 'LOGOUT' }); // 6.1.3
  like('a002 STARTTLS', { name: 'STARTTLS' }); // 6.2.1
  like('a001 login SMITH SESAME', { name: 'LOGIN', username: 'SMITH', password: 'SESAME' }); // 6.2.3
  like('a001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man', { username: 'FRED FOOBAR', password: 'fat man' }); // 7.5
  like('a001 LOGIN "fred" "a \\"b\\" \\\\c"', { password: 'a "b" \\c' });
  like('A001 AUTHENTICATE PLAIN', { name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: null }); // 6.2.2
  like('a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=', { initialResponse: 'dGVzdAB0ZXN0AHRlc3Q=' }); // RFC 4959
  like('a AUTHENTICATE PLAIN =', { initialResponse: '' }); // RFC 4959 3: "=" is an empty response
  like('t1 ENABLE CONDSTORE QRESYNC', { name: 'ENABLE', capabilities: ['CONDSTORE', 'QRESYNC'] }); // RFC 5161
  like('A142 SELECT INBOX', { name: 'SELECT', mailbox: 'INBOX', condstore: false, qresync: null }); // 6.3.2
  like('A932 EXAMINE blurdybloop', { name: 'EXAMINE', mailbox: 'blurdybloop' }); // 6.3.3
  like('a SELECT INBOX (CONDSTORE)', { condstore: true }); // RFC 7162 3.1.8
  // RFC 7162 3.2.5.2 example
  like('A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))', {
    qresync: {
      uidValidity: 67890007,
      modseq: Number.MAX_SAFE_INTEGER, // 20050715194045000 > 2^53: clamped, compares the same
      knownUids: set([41, 41], [43, 211], [214, 541]),
      seqMatch: null,
    },
  });
  like(
    'B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))',
    {
      name: 'SELECT',
    },
  );
  like('A003 CREATE owatagusiam/', { name: 'CREATE', mailbox: 'owatagusiam/', specialUse: [] }); // 6.3.4
  like('t1 CREATE "Important Messages" (USE (\\Important))', { specialUse: ['\\Important'] }); // RFC 6154 5.2
  like('a COMPRESS DEFLATE', { name: 'COMPRESS', algorithm: 'DEFLATE' }); // RFC 4978 3
  like('a compress deflate', { name: 'COMPRESS', algorithm: 'DEFLATE' }); // case-insensitive atoms
  like('a FETCH 1 (SAVEDATE)', { items: [{ type: 'SAVEDATE' }] }); // RFC 8514 3
  like('a SEARCH SAVEDSINCE 1-Nov-2026', {
    key: { op: 'date', field: 'saved', cmp: 'since', date: { day: 1, month: 11, year: 2026 } },
  }); // RFC 8514 4
  like('a SEARCH SAVEDATESUPPORTED', { key: { op: 'all' } }); // RFC 8514 4
  like('A683 DELETE blurdybloop', { name: 'DELETE', mailbox: 'blurdybloop' });
  like('A683 RENAME blurdybloop sarasoop', { name: 'RENAME', from: 'blurdybloop', to: 'sarasoop' });
  like('A002 SUBSCRIBE #news.comp.mail.mime', { name: 'SUBSCRIBE', mailbox: '#news.comp.mail.mime' });
  like('A002 UNSUBSCRIBE #news.comp.mail.mime', { name: 'UNSUBSCRIBE' });
  like('A101 LIST "" ""', { name: 'LIST', reference: '', patterns: [''], extended: false }); // 6.3.9
  like('A102 LIST #news.comp.mail.misc ""', { reference: '#news.comp.mail.misc' });
  like('A202 LIST ~/Mail/ %', { reference: '~/Mail/', patterns: ['%'] });
  like('A02 LIST (SUBSCRIBED) "" "*"', { selectOptions: ['SUBSCRIBED'], patterns: ['*'], extended: true }); // RFC 5258
  like('A03 LIST () "" "%" RETURN (CHILDREN)', {
    returnOptions: { subscribed: false, children: true, specialUse: false, status: null },
  });
  like('A05 LIST (REMOTE SUBSCRIBED) "/" "*"', { selectOptions: ['REMOTE', 'SUBSCRIBED'] });
  like('A06 LIST (subscribed) "" ("INBOX" "Drafts" "Sent/%")', { patterns: ['INBOX', 'Drafts', 'Sent/%'] });
  like('A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))', {
    returnOptions: { subscribed: false, children: false, specialUse: false, status: ['MESSAGES', 'UNSEEN'] },
  }); // RFC 5819
  like('t1 LIST (SPECIAL-USE) "" "*"', { selectOptions: ['SPECIAL-USE'] }); // RFC 6154
  like('A002 LSUB "#news." "comp.mail.*"', { name: 'LSUB', reference: '#news.', pattern: 'comp.mail.*' });
  like('A001 NAMESPACE', { name: 'NAMESPACE' });
  like('A042 STATUS blurdybloop (UIDNEXT MESSAGES)', { name: 'STATUS', items: ['UIDNEXT', 'MESSAGES'] });
  like('a STATUS x (SIZE DELETED HIGHESTMODSEQ UNSEEN UIDVALIDITY RECENT)', {
    items: ['SIZE', 'DELETED', 'HIGHESTMODSEQ', 'UNSEEN', 'UIDVALIDITY', 'RECENT'],
  });
  test('APPEND with flags, date and a streamed literal (6.3.12)', () => {
    const c = ok('A003 APPEND saved-messages (\\Seen) "17-Jul-1996 02:44:25 -0700" {5}\r\nhello');
    assert.equal(c.name, 'APPEND');
    if (c.name !== 'APPEND') return;
    assert.equal(c.mailbox, 'saved-messages');
    assert.equal(c.messages.length, 1);
    const m = c.messages[0];
    assert.deepEqual(m?.flags, ['\\Seen']);
    // The zone is kept (RFC 9051 2.3.3: FETCH INTERNALDATE shows it back).
    assert.deepEqual(m?.internalDate, { ms: Date.UTC(1996, 6, 17, 9, 44, 25), offsetMinutes: -420 });
    assert.deepEqual(m?.literal, { streamed: true, size: 5, binary: false });
  });
  like('a APPEND x " 7-Jul-1996 02:44:25 +0000" {1+}\r\nx', {
    name: 'APPEND',
  });
  test('MULTIAPPEND (RFC 3502) parses to several messages', () => {
    const c = ok('a APPEND box {1+}\r\nx (\\Draft) {1+}\r\ny');
    assert.equal(c.name === 'APPEND' && c.messages.length, 2);
  });
  like('a IDLE', { name: 'IDLE' }); // RFC 2177
  like('FXXZ CHECK', { name: 'CHECK' });
  like('A341 CLOSE', { name: 'CLOSE' });
  like('A342 UNSELECT', { name: 'UNSELECT' }); // RFC 3691
  like('A202 EXPUNGE', { name: 'EXPUNGE', uidSet: null });
  like('A003 UID EXPUNGE 3000:3002', { name: 'EXPUNGE', uidSet: set([3000, 3002]) }); // RFC 4315
  like('A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', {
    name: 'SEARCH',
    uid: false,
    charset: null,
    returnOptions: null,
    key: {
      op: 'and',
      keys: [
        { op: 'flag', flag: '\\Flagged', set: true },
        { op: 'date', field: 'internal', cmp: 'since', date: { year: 1994, month: 2, day: 1 } },
        { op: 'not', key: { op: 'header', field: 'From', value: 'Smith' } },
      ],
    },
  }); // 6.4.4
  like('A285 SEARCH CHARSET UTF-8 TEXT {12}\r\n\u0425\u0430\u0431\u0440'.replace('{12}', '{8}'), {
    charset: 'UTF-8',
    key: { op: 'text', value: '\u0425\u0430\u0431\u0440' },
  });
  like('A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', { returnOptions: [] }); // RFC 4731
  like('A284 SEARCH RETURN (MIN COUNT) FLAGGED', { returnOptions: ['MIN', 'COUNT'] });
  like('A UID SEARCH RETURN (SAVE) UID 1:5 OR $ 7', {
    uid: true,
    returnOptions: ['SAVE'],
    key: {
      op: 'and',
      keys: [
        { op: 'uid', set: set([1, 5]) },
        { op: 'or', left: { op: 'seq', set: { kind: 'saved' } }, right: { op: 'seq', set: set([7, 7]) } },
      ],
    },
  }); // RFC 5182
  like('a SEARCH MODSEQ "/flags/\\\\draft" all 620162338', {
    key: { op: 'modseq', modseq: 620162338, entry: { name: '/flags/\\draft', type: 'all' } },
  }); // RFC 7162 3.1.5
  like('a SEARCH MODSEQ 5', { key: { op: 'modseq', modseq: 5, entry: null } });
  like('a SEARCH (OR SEEN UNSEEN) HEADER X-Spam "yes" LARGER 10 SMALLER 99 KEYWORD $Junk 2:4,*', {
    key: {
      op: 'and',
      keys: [
        {
          op: 'or',
          left: { op: 'flag', flag: '\\Seen', set: true },
          right: { op: 'flag', flag: '\\Seen', set: false },
        },
        { op: 'header', field: 'X-Spam', value: 'yes' },
        { op: 'size', cmp: 'larger', size: 10 },
        { op: 'size', cmp: 'smaller', size: 99 },
        { op: 'flag', flag: '$Junk', set: true },
        { op: 'seq', set: set([2, 4], ['*', '*']) },
      ],
    },
  });
  like('a SEARCH ANSWERED BCC x BEFORE 1-Jan-2000 BODY y CC z DELETED DRAFT NEW OLD ON "3-Mar-2003" RECENT', {
    name: 'SEARCH',
  });
  like(
    'a SEARCH SENTBEFORE 1-Jan-2000 SENTON 1-Jan-2000 SENTSINCE 1-Jan-2000 SUBJECT s TO t UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD k UNSEEN ALL',
    {
      name: 'SEARCH',
    },
  );
  like('A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])', {
    name: 'FETCH',
    uid: false,
    set: set([2, 4]),
    items: [
      { type: 'FLAGS' },
      {
        type: 'BODY[]',
        peek: false,
        section: { part: [], text: { kind: 'HEADER.FIELDS', fields: ['DATE', 'FROM'], not: false } },
        partial: null,
      },
    ],
  }); // 6.4.5
  like('a FETCH 1 ALL', {
    items: [{ type: 'FLAGS' }, { type: 'INTERNALDATE' }, { type: 'RFC822.SIZE' }, { type: 'ENVELOPE' }],
  });
  like('a FETCH 1 FAST', { items: [{ type: 'FLAGS' }, { type: 'INTERNALDATE' }, { type: 'RFC822.SIZE' }] });
  like('a FETCH 1:* full', {
    items: [
      { type: 'FLAGS' },
      { type: 'INTERNALDATE' },
      { type: 'RFC822.SIZE' },
      { type: 'ENVELOPE' },
      { type: 'BODY' },
    ],
  });
  like(
    'a UID FETCH 1:* (UID BODY.PEEK[1.2.MIME] BODY[]<0.2048> BINARY.PEEK[1]<0.10> BINARY.SIZE[2] BODY[1.HEADER.FIELDS.NOT (X-A)] BODY[TEXT] BODY[3] BODYSTRUCTURE MODSEQ RFC822.HEADER RFC822 RFC822.TEXT)',
    {
      uid: true,
      items: [
        { type: 'UID' },
        { type: 'BODY[]', peek: true, section: { part: [1, 2], text: { kind: 'MIME' } }, partial: null },
        {
          type: 'BODY[]',
          peek: false,
          section: { part: [], text: null },
          partial: { offset: 0, length: 2048 },
        },
        { type: 'BINARY', peek: true, part: [1], partial: { offset: 0, length: 10 } },
        { type: 'BINARY.SIZE', part: [2] },
        {
          type: 'BODY[]',
          peek: false,
          section: { part: [1], text: { kind: 'HEADER.FIELDS', fields: ['X-A'], not: true } },
          partial: null,
        },
        { type: 'BODY[]', peek: false, section: { part: [], text: { kind: 'TEXT' } }, partial: null },
        { type: 'BODY[]', peek: false, section: { part: [3], text: null }, partial: null },
        { type: 'BODYSTRUCTURE' },
        { type: 'MODSEQ' },
        { type: 'RFC822.HEADER' },
        { type: 'RFC822' },
        { type: 'RFC822.TEXT' },
      ],
    },
  );
  like('s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)', {
    modifiers: { changedSince: 12345, vanished: true },
  }); // RFC 7162 3.2.6
  like('A003 STORE 2:4 +FLAGS (\\Deleted)', {
    name: 'STORE',
    set: set([2, 4]),
    unchangedSince: null,
    action: { op: 'add', silent: false, flags: ['\\Deleted'] },
  }); // 6.4.6
  like('a STORE 1 -FLAGS.SILENT \\seen $Junk', {
    action: { op: 'remove', silent: true, flags: ['\\Seen', '$Junk'] },
  });
  like('a STORE 1 FLAGS ()', { action: { op: 'set', silent: false, flags: [] } });
  like('d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)', {
    unchangedSince: 320162338,
  }); // RFC 7162 3.1.3
  like('A003 COPY 2:4 MEETING', { name: 'COPY', uid: false, set: set([2, 4]), mailbox: 'MEETING' }); // 6.4.7
  like('a UID MOVE 42:69 foo', { name: 'MOVE', uid: true, set: set([42, 69]), mailbox: 'foo' }); // RFC 6851
  like('A999 UID FETCH 4827313:4828442 FLAGS', { uid: true, items: [{ type: 'FLAGS' }] }); // 6.4.9
  like('a023 ID ("name" "sodr" "version" "19.34" "vendor" NIL)', {
    name: 'ID',
    params: [
      ['name', 'sodr'],
      ['version', '19.34'],
      ['vendor', null],
    ],
  }); // RFC 2971
  like('a ID NIL', { params: null });
  like('a SELECT "[Gmail]/Sent Mail"', { mailbox: '[Gmail]/Sent Mail' });
  like('a SELECT [Gmail]/Sent', { mailbox: '[Gmail]/Sent' });
  like('a SELECT "Entw\u00fcrfe"', { mailbox: 'Entw\u00fcrfe' }); // RFC 6855 UTF8=ACCEPT quoted UTF-8
  like('a SELECT NIL', { mailbox: 'NIL' });
  like('a SELECT 2024', { mailbox: '2024' });
});

describe('hostile and malformed commands get BAD with their tag', () => {
  const rows: Array<[string, string | null]> = [
    ['', null],
    ['a', 'a'],
    ['+ NOOP', null],
    ['"a" NOOP', null],
    ['a FROB', 'a'],
    ['a NOOP extra', 'a'],
    ['a LOGIN onlyuser', 'a'],
    ['a LOGIN "unterminated', 'a'],
    ['a LOGIN "bad\\escape" x', 'a'],
    ['a LOGIN us\u0000er pw', 'a'],
    ['a LOGIN caf\u00e9 pw', 'a'], // 8-bit outside a string
    ['a SELECT foo*', 'a'],
    ['a SELECT (x)', 'a'],
    ['a SELECT INBOX (FOO)', 'a'],
    ['a SELECT INBOX (QRESYNC (0 1))', 'a'],
    ['a FETCH 0 FLAGS', 'a'],
    ['a FETCH 1:4294967296 FLAGS', 'a'],
    ['a FETCH 1 (FLAGS', 'a'],
    ['a FETCH 1 FLAGS)', 'a'],
    ['a FETCH 1 ()', 'a'],
    ['a FETCH 1 (ALL)', 'a'], // macros cannot be in a list
    ['a FETCH 1 BODY[1.MIM]', 'a'],
    ['a FETCH 1 BODY[MIME]', 'a'],
    ['a FETCH 1 BODY[0]', 'a'],
    ['a FETCH 1 BODY[HEADER.FIELDS ()]', 'a'],
    ['a FETCH 1 BODY[HEADER.FIELDS (A:B)]', 'a'],
    ['a FETCH 1 BODY[]<5>', 'a'],
    ['a FETCH 1 BODY[]<5.0>', 'a'],
    ['a FETCH 1 BODY[TEXT', 'a'],
    ['a FETCH 1 BINARY.SIZE[1]<0.5>', 'a'],
    ['a FETCH 1 FLAGS (VANISHED)', 'a'],
    ['a FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)', 'a'], // VANISHED only with UID FETCH
    ['a FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)', 'a'], // > 2^63-1 (RFC 7162 7)
    ['a STORE 1 +FLAGS (\\Recent)', 'a'],
    ['a STORE 1 FLAGGED (\\Seen)', 'a'],
    ['a STORE 1 +FLAGS (a]b)', 'a'],
    ['a SEARCH', 'a'],
    ['a SEARCH FOO', 'a'],
    ['a SEARCH ON 31-Feb-2020', 'a'],
    ['a SEARCH SINCE 2020-01-01', 'a'],
    ['a SEARCH OR SEEN', 'a'],
    ['a SEARCH RETURN (BOGUS) ALL', 'a'],
    ['a SEARCH KEYWORD \\Seen', 'a'],
    ['a SEARCH ()', 'a'],
    ['a SEARCH ' + 'NOT '.repeat(100) + 'ALL', 'a'],
    ['a SEARCH ' + 'OR ALL '.repeat(100) + 'ALL', 'a'],
    ['a SEARCH ' + '('.repeat(30) + 'ALL' + ')'.repeat(30), 'a'],
    ['a UID FROB 1', 'a'],
    ['a UID EXPUNGE', 'a'],
    ['a APPEND box', 'a'],
    ['a APPEND box (\\Seen) "bad date" {1+}\r\nx', 'a'],
    ['a APPEND box "32-Jan-2020 00:00:00 +0000" {1+}\r\nx', 'a'],
    ['a APPEND box (\\Seen) foo', 'a'],
    ['a LIST (RECURSIVEMATCH) "" *', 'a'],
    ['a LIST (RECURSIVEMATCH REMOTE) "" *', 'a'],
    ['a LIST (BOGUS) "" *', 'a'],
    ['a LIST "" * RETURN (BOGUS)', 'a'],
    ['a LIST "" ()', 'a'],
    ['a STATUS x ()', 'a'],
    ['a STATUS x (BOGUS)', 'a'],
    ['a ENABLE', 'a'],
    ['a COMPRESS', 'a'],
    ['a COMPRESS DEFLATE DEFLATE', 'a'],
    ['a COMPRESS "DEFLATE"', 'a'],
    ['a COMPRESS (DEFLATE)', 'a'],
    ['a SEARCH SAVEDON', 'a'],
    ['a SEARCH SAVEDBEFORE 2026-11-01', 'a'],
    ['a ID ("a")', 'a'],
    ['a ID (x y)', 'a'],
    ['a AUTHENTICATE PLAIN not!base64', 'a'],
    ['a LOGIN {3+}\r\na\u0000b pw', 'a'],
    ['a LOGIN ~{3+}\r\nabc pw', 'a'],
    ['a LOGIN x{3+}\r\nabc', 'a'],
  ];
  for (const [text, tag] of rows) {
    test(JSON.stringify(text).slice(0, 90), () => {
      const r = parse(text === '' ? ' \r\n' : text);
      assert.ok(isParseError(r), `parsed: ${JSON.stringify(r)}`);
      assert.equal(r.tag, tag);
      assert.ok(r.text.length > 0);
    });
  }

  test('invalid UTF-8 in a quoted string or literal is BAD', () => {
    for (const bytes of [
      Buffer.from([...Buffer.from('a LOGIN "'), 0xff, ...Buffer.from('" x\r\n')]),
      Buffer.from([...Buffer.from('a LOGIN {1+}\r\n'), 0xc3, ...Buffer.from(' x\r\n')]),
    ]) {
      const r = new ImapCommandReceiver();
      r.push(bytes);
      const ev = r.next();
      assert.equal(ev?.kind, 'command');
      if (ev?.kind === 'command') assert.ok(isParseError(parseImapCommand(ev.command)));
    }
  });

  test('deep nesting is refused, not recursed into', () => {
    const r = parse('a FETCH 1 ' + '('.repeat(5000) + ')'.repeat(5000));
    assert.ok(isParseError(r));
    assert.match(r.text, /nested/i);
  });

  test('a SEARCH with a non-UTF-8 charset still parses (the session answers NO [BADCHARSET])', () => {
    const r = new ImapCommandReceiver();
    r.push(
      Buffer.concat([
        Buffer.from('a SEARCH CHARSET ISO-8859-1 SUBJECT {1+}\r\n'),
        Buffer.from([0xe4]),
        Buffer.from('\r\n'),
      ]),
    );
    const ev = r.next();
    assert.equal(ev?.kind, 'command');
    if (ev?.kind !== 'command') return;
    const c = parseImapCommand(ev.command);
    assert.ok(!isParseError(c) && c.name === 'SEARCH');
    if (!isParseError(c) && c.name === 'SEARCH') {
      assert.equal(c.charset, 'ISO-8859-1');
      assert.deepEqual(c.key, { op: 'header', field: 'Subject', value: '\u00e4' });
    }
  });
});
