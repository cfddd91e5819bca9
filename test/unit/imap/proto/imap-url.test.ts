// Table tests for the IMAP URL parser (RFC 5092, URLAUTH parts of RFC 4467, relative forms of RFC 4469): RFC rows, then hostile rows.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { formatImapUrl, parseImapUrl, type ImapUrl } from '../../../../src/imap/proto/imap-url.js';
import { ImapSyntaxError } from '../../../../src/imap/proto/types.js';

function pick(u: ImapUrl): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(u))
    if (v !== null && k !== 'sectionSpec' && k !== 'urlauth') out[k] = v;
  return out;
}

describe('RFC 5092 examples', () => {
  const rows: Array<[string, Record<string, unknown>]> = [
    // RFC 5092 7: a message part with UIDVALIDITY and PARTIAL.
    [
      'imap://minbari.example.org/gray-council;UIDVALIDITY=385759045/;UID=20/;PARTIAL=0.1024',
      {
        host: 'minbari.example.org',
        mailbox: 'gray-council',
        uidvalidity: 385759045,
        uid: 20,
        partial: { offset: 0, length: 1024 },
      },
    ],
    // RFC 5092 7: a section, lower-case parameter names, AUTH=GSSAPI.
    [
      'imap://;AUTH=GSSAPI@minbari.example.org/gray-council/;uid=20/;section=1.2',
      { auth: 'GSSAPI', host: 'minbari.example.org', mailbox: 'gray-council', uid: 20, section: '1.2' },
    ],
    // RFC 5092 7: a search ("message list") URL with a percent-encoded space.
    [
      'imap://;AUTH=*@minbari.example.org/gray%20council?SUBJECT%20shadows',
      { auth: '*', host: 'minbari.example.org', mailbox: 'gray council', search: 'SUBJECT shadows' },
    ],
    // RFC 5092 7: UTF-8 mailbox names, percent-encoded (~peter/日本語/台北).
    [
      'imap://psicorp.example.org/~peter/%E6%97%A5%E6%9C%AC%E8%AA%9E/%E5%8F%B0%E5%8C%97',
      { host: 'psicorp.example.org', mailbox: '~peter/日本語/台北' },
    ],
    // RFC 5092 7: a user, a port, a search with a literal and UTF-8 text.
    [
      'imap://john;AUTH=*@minbari.example.org:1143/babylon5/personel?charset%20UTF-8%20SUBJECT%20%7B14+%7D%0D%0A%D0%98%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2%D0%B0',
      {
        user: 'john',
        auth: '*',
        host: 'minbari.example.org',
        port: 1143,
        mailbox: 'babylon5/personel',
        search: 'charset UTF-8 SUBJECT {14+}\r\nИванова',
      },
    ],
    // RFC 5092 7: a server URL and a user@server URL.
    ['imap://minbari.example.org/', { host: 'minbari.example.org' }],
    [
      'imap://michael@minbari.example.org/users.*',
      { user: 'michael', host: 'minbari.example.org', mailbox: 'users.*' },
    ],
    // RFC 2192-era modified UTF-7 names still decode.
    ['imap://h/~peter/mail/&ZeVnLIqe-/&U,BTFw-', { host: 'h', mailbox: '~peter/mail/日本語/台北' }],
    // ...while an ASCII name with "&" that is not modified UTF-7 stays as written.
    ['imap://h/R&D/;UID=1', { host: 'h', mailbox: 'R&D', uid: 1 }],
    ['imap://h/[2001:db8::1]', { host: 'h', mailbox: '[2001:db8::1]' }],
    ['imap://[2001:db8::1]:993/INBOX', { host: '[2001:db8::1]', port: 993, mailbox: 'INBOX' }],
    [
      'IMAP://H.Example/INBOX/;UID=7/;SECTION=HEADER.FIELDS%20(TO%20FROM)',
      {
        host: 'h.example',
        mailbox: 'INBOX',
        uid: 7,
        section: 'HEADER.FIELDS (TO FROM)',
      },
    ],
    [
      'imap://h/a/b/;UID=3/;PARTIAL=10',
      { host: 'h', mailbox: 'a/b', uid: 3, partial: { offset: 10, length: null } },
    ],
  ];
  for (const [text, want] of rows) {
    test(text.slice(0, 90), () => assert.deepEqual(pick(parseImapUrl(text)), want));
  }

  test('a section is parsed like FETCH BODY[section]', () => {
    const u = parseImapUrl('imap://h/INBOX/;UID=7/;SECTION=1.2.HEADER.FIELDS.NOT%20(Subject)');
    assert.deepEqual(u.sectionSpec, {
      part: [1, 2],
      text: { kind: 'HEADER.FIELDS', fields: ['Subject'], not: true },
    });
    assert.deepEqual(parseImapUrl('imap://h/INBOX/;UID=7/;SECTION=1.mime').sectionSpec, {
      part: [1],
      text: { kind: 'MIME' },
    });
  });
});

describe('URLAUTH parts (RFC 4467)', () => {
  test('RFC 4467 7 example: rump, access, mechanism and token', () => {
    const text =
      'imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038';
    const u = parseImapUrl(text);
    assert.equal(u.user, 'joe');
    assert.equal(u.uid, 20);
    assert.equal(u.section, '1.2');
    assert.deepEqual(u.urlauth, {
      rump: 'imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred',
      access: { kind: 'submit', user: 'fred' },
      expire: null,
      mechanism: 'INTERNAL',
      token: '91354a473744909de610943775f92038',
    });
  });
  test('a rump (GENURLAUTH input) with EXPIRE and each access kind', () => {
    const u = parseImapUrl(
      'imap://joe@example.com/INBOX;UIDVALIDITY=5/;UID=20;EXPIRE=2026-12-05T18:00:00+01:00;URLAUTH=user+m%40x',
    );
    assert.equal(u.urlauth?.expire?.toISOString(), '2026-12-05T17:00:00.000Z');
    assert.deepEqual(u.urlauth?.access, { kind: 'user', user: 'm@x' });
    assert.equal(u.urlauth?.mechanism, null);
    assert.equal(
      u.urlauth?.rump,
      'imap://joe@example.com/INBOX;UIDVALIDITY=5/;UID=20;EXPIRE=2026-12-05T18:00:00+01:00;URLAUTH=user+m%40x',
    );
    assert.deepEqual(parseImapUrl('imap://j@h/INBOX/;UID=1;URLAUTH=authuser').urlauth?.access, {
      kind: 'authuser',
    });
    assert.deepEqual(parseImapUrl('imap://j@h/INBOX/;UID=1;URLAUTH=ANONYMOUS').urlauth?.access, {
      kind: 'anonymous',
    });
    assert.equal(parseImapUrl('imap://j@h/INBOX/;UID=1/;PARTIAL=0.5;URLAUTH=authuser').partial?.length, 5);
  });
});

describe('relative URLs (RFC 5092 7.1, RFC 4469 5)', () => {
  const base = parseImapUrl('imap://joe@h/Drafts;UIDVALIDITY=385759045');
  const msgBase = parseImapUrl('imap://joe@h/INBOX;UIDVALIDITY=9/;UID=4/;SECTION=1');
  const rows: Array<[ImapUrl, string, Record<string, unknown>]> = [
    [base, ';UID=20', { user: 'joe', host: 'h', mailbox: 'Drafts', uidvalidity: 385759045, uid: 20 }],
    [
      base,
      ';UID=20/;SECTION=1.MIME',
      { user: 'joe', host: 'h', mailbox: 'Drafts', uidvalidity: 385759045, uid: 20, section: '1.MIME' },
    ],
    [base, '/INBOX/;UID=3', { user: 'joe', host: 'h', mailbox: 'INBOX', uid: 3 }],
    [base, 'Sent/;UID=3', { user: 'joe', host: 'h', mailbox: 'Sent', uid: 3 }],
    [base, '//other/X/;UID=2', { host: 'other', mailbox: 'X', uid: 2 }],
    [
      msgBase,
      ';SECTION=2',
      { user: 'joe', host: 'h', mailbox: 'INBOX', uidvalidity: 9, uid: 4, section: '2' },
    ],
    [
      msgBase,
      ';PARTIAL=0.10',
      {
        user: 'joe',
        host: 'h',
        mailbox: 'INBOX',
        uidvalidity: 9,
        uid: 4,
        section: '1',
        partial: { offset: 0, length: 10 },
      },
    ],
  ];
  for (const [b, ref, want] of rows) {
    test(`${ref} against ${formatImapUrl(b)}`, () =>
      assert.deepEqual(pick(parseImapUrl(ref, { base: b })), want));
  }
  test('relative forms need a base, and a base with the levels they keep', () => {
    assert.throws(() => parseImapUrl(';UID=20'), ImapSyntaxError);
    assert.throws(() => parseImapUrl('/INBOX/;UID=20'), ImapSyntaxError);
    assert.throws(() => parseImapUrl(';SECTION=1', { base }), ImapSyntaxError);
  });
});

describe('formatImapUrl', () => {
  test('round-trips through the parser with UTF-8 percent-encoding', () => {
    const text = 'imap://j%40x@h:143/~peter/%E6%97%A5%20a;UIDVALIDITY=7/;UID=3/;SECTION=1.2/;PARTIAL=5.6';
    const u = parseImapUrl(text);
    assert.equal(u.user, 'j@x');
    assert.equal(formatImapUrl(u), text);
    assert.equal(
      formatImapUrl(u, true),
      'imap://j%40x@h:143/~peter/&ZeU-%20a;UIDVALIDITY=7/;UID=3/;SECTION=1.2/;PARTIAL=5.6',
    );
  });
});

describe('hostile and malformed URLs', () => {
  const bad = [
    '',
    'http://h/INBOX',
    'imap://h/INBOX/;UID=0',
    'imap://h/INBOX/;UID=4294967296',
    'imap://h/INBOX/;UID=007',
    'imap://h/INBOX/;UID=-1',
    'imap://h/INBOX/;UID=1e3',
    'imap://h/INBOX;UIDVALIDITY=0',
    'imap://h/INBOX;UID=1',
    'imap://h/INBOX/;SECTION=1/;UID=1',
    'imap://h/INBOX/;UID=1/;UID=2',
    'imap://h/INBOX/;UID=1/;PARTIAL=1.0',
    'imap://h/INBOX/;UID=1/;PARTIAL=a',
    'imap://h/INBOX/;UID=1/;SECTION=',
    'imap://h/INBOX/;UID=1/;SECTION=1.0',
    'imap://h/INBOX/;UID=1/;SECTION=BOGUS',
    'imap://h/INBOX/;UID=1/;SECTION=MIME',
    'imap://h/IN%00BOX',
    'imap://h/IN%0D%0ABOX',
    'imap://h/%FF%FE',
    'imap://h/IN%2',
    'imap://h/IN BOX',
    'imap://h/INBOX\r\n',
    'imap://h/INBOX#frag',
    'imap://h/ÿ',
    'imap://h:99999/INBOX',
    // Found by test/fuzz/imap-url.test.ts: a host that decodes to a space did not format back.
    'imap://h%20x/INBOX',
    'imap://a(b)/INBOX',
    'imap://h?x',
    'imap://@h/INBOX',
    'imap://j;AUTH=@h/INBOX',
    'imap://h/INBOX/;UID=1;URLAUTH=root',
    'imap://h/INBOX/;UID=1;URLAUTH=submit+',
    'imap://h/INBOX/;UID=1;URLAUTH=submit+a;b',
    'imap://h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:abc',
    'imap://h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:' + '0'.repeat(31),
    'imap://h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:' + 'g'.repeat(32),
    'imap://h/INBOX/;UID=1;URLAUTH=anonymous::' + '0'.repeat(32),
    'imap://h/INBOX/;UID=1;EXPIRE=2026-13-01T00:00:00Z;URLAUTH=anonymous',
    'imap://h/INBOX/;UID=1;EXPIRE=yesterday;URLAUTH=anonymous',
    'imap://h/INBOX/;UID=1;EXPIRE=2026-01-01T00:00:00Z',
    'imap://h/INBOX;URLAUTH=anonymous',
    'imap://h/INBOX/;UID=1;FOO=1',
    'imap://h/' + 'a'.repeat(9000),
    'imap://h/' + '%'.repeat(100),
  ];
  for (const text of bad) {
    test(`rejects ${JSON.stringify(text.slice(0, 60))}`, () =>
      assert.throws(() => parseImapUrl(text), ImapSyntaxError));
  }
});
