// Tests of header parsing, RFC 2047 encoded words, MIME parameters (RFC 2045/2231) and RFC 5322 dates.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isAscii } from 'node:buffer';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  foldHeaderField,
  HeaderMap,
  parseAsciiBlock,
  parseBlockBytes,
  parseHeaderBlock,
  parseRfc5322Date,
} from '../../../src/mail/headers.js';
import {
  decodeEncodedWords,
  decodeHeaderBytes,
  encodeHeaderText,
  encodePhrase,
} from '../../../src/mail/encoded-words.js';
import { paramsForWire, parseContentType, parseDisposition } from '../../../src/mail/mime-params.js';
import { HEADER_PIECES, randomTexts } from '../../helpers/random-text.js';

describe('parseHeaderBlock', () => {
  test('RFC 5322 A.1.1 header, folding (2.2.3), case-insensitive lookup', () => {
    const block = Buffer.from(
      'From: John Doe <jdoe@machine.example>\r\nTo: Mary Smith <mary@example.net>\r\nSubject: Saying\r\n Hello\r\n' +
        'Date: Fri, 21 Nov 1997 09:55:06 -0600\r\nMessage-ID: <1234@local.machine.example>\r\n\r\nThis is a body: x\r\n',
    );
    const h = HeaderMap.parse(block);
    assert.equal(h.fields.length, 5);
    assert.equal(h.get('SUBJECT'), 'Saying Hello');
    assert.equal(h.getFields('subject')[0]?.raw, ' Saying\r\n Hello');
    assert.equal(h.get('message-id'), '<1234@local.machine.example>');
    assert.equal(h.get('x-none'), undefined);
    assert.equal(h.has('From'), true);
  });

  const rows: [string, string | Buffer, [string, string][]][] = [
    ['obs-optional: space before colon (RFC 5322 4.5)', 'Subject : hi\r\n', [['Subject', 'hi']]],
    [
      'LF-only',
      'A: 1\nB: 2\n folded\n\nbody: no',
      [
        ['A', '1'],
        ['B', '2 folded'],
      ],
    ],
    [
      'duplicate fields kept in order',
      'X: 1\r\nx: 2\r\n',
      [
        ['X', '1'],
        ['x', '2'],
      ],
    ],
    ['empty value', 'Subject:\r\n', [['Subject', '']]],
    ['UTF-8 header (RFC 6532)', Buffer.from('Subject: Grüße\r\n'), [['Subject', 'Grüße']]],
    ['latin1 header', Buffer.from([...Buffer.from('Subject: Gr'), 0xfc, 0xdf, 0x65]), [['Subject', 'Grüße']]],
    [
      'line without colon is skipped',
      'A: 1\r\ngarbage line\r\nB: 2\r\n',
      [
        ['A', '1'],
        ['B', '2'],
      ],
    ],
    ['leading continuation is skipped', ' orphan\r\nA: 1\r\n', [['A', '1']]],
    ['NUL in value kept', 'A: x\0y\r\n', [['A', 'x\0y']]],
    ['no final line break', 'A: 1', [['A', '1']]],
  ];
  for (const [name, input, want] of rows) {
    test(name, () => {
      const got = parseHeaderBlock(typeof input === 'string' ? Buffer.from(input, 'latin1') : input);
      assert.deepEqual(
        got.map((f) => [f.name, f.value]),
        want,
      );
    });
  }
});

describe('decodeHeaderBytes', () => {
  test('UTF-8 when valid, else latin1', () => {
    assert.equal(decodeHeaderBytes(Buffer.from('é', 'utf8')), 'é');
    assert.equal(decodeHeaderBytes(Buffer.from([0xe9])), 'é');
    assert.equal(decodeHeaderBytes(Buffer.from([0xc3])), 'Ã');
  });
});

describe('RFC 2047 encoded words', () => {
  // RFC 2047 section 8, the examples table, in order.
  const rfc: [string, string][] = [
    ['(=?ISO-8859-1?Q?a?=)', '(a)'],
    ['(=?ISO-8859-1?Q?a?= b)', '(a b)'],
    ['(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)', '(ab)'],
    ['(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)', '(ab)'],
    ['(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)', '(ab)'],
    ['(=?ISO-8859-1?Q?a_b?=)', '(a b)'],
    ['(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)', '(a b)'],
    ['=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>', 'Keith Moore <moore@cs.utk.edu>'],
    ['=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=', 'Keld Jørn Simonsen'],
    ['=?ISO-8859-1?Q?Andr=E9?= Pirard', 'André Pirard'],
    [
      '=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=',
      'If you can read this you understand the example.',
    ],
    ['=?ISO-8859-1?Q?Olle_J=E4rnefors?=', 'Olle Järnefors'],
    // RFC 2231 section 5: a language tag after '*'.
    ['=?US-ASCII*EN?Q?Keith_Moore?=', 'Keith Moore'],
  ];
  for (const [input, want] of rfc)
    test(`RFC row: ${JSON.stringify(input)}`, () => assert.equal(decodeEncodedWords(input), want));

  const hostile: [string, string, string][] = [
    ['multi-byte character split across words', '=?utf-8?b?4oI=?= =?utf-8?b?rA==?=', '€'],
    ['words touching each other', '=?utf-8?q?a?==?utf-8?q?b?=', 'ab'],
    ['word touching text', 'x=?utf-8?q?=C3=A9?=y', 'xéy'],
    ['lower-case encoding letters', '=?utf-8?q?caf=c3=a9?=', 'café'],
    ['unknown charset left as written', '=?x-klingon?q?abc?= and', '=?x-klingon?q?abc?= and'],
    ['unterminated word left as written', '=?utf-8?q?abc', '=?utf-8?q?abc'],
    ['bad base64 characters ignored', '=?utf-8?b?Y!W*J?=', 'ab'],
    ['bad Q escape kept', '=?utf-8?q?a=ZZ?=', 'a=ZZ'],
    ['space inside Q text (broken mailers)', '=?utf-8?q?a b?=', 'a b'],
    ['text between words is kept', '=?utf-8?q?a?= x =?utf-8?q?b?=', 'a x b'],
    ['no words at all', 'plain text', 'plain text'],
    ['empty word', '=?utf-8?q??=', ''],
  ];
  for (const [name, input, want] of hostile) test(name, () => assert.equal(decodeEncodedWords(input), want));

  test('many unterminated words cost linear time', () => {
    const input = '=?utf-8?q?' + 'x'.repeat(50) + ' '.repeat(1);
    const start = performance.now();
    decodeEncodedWords(input.repeat(20_000));
    assert.ok(performance.now() - start < 2000);
  });

  test('encodeHeaderText: ASCII stays, the rest round-trips, words at most 75 chars, output 7-bit', () => {
    assert.equal(encodeHeaderText('plain subject'), 'plain subject');
    assert.equal(decodeEncodedWords(encodeHeaderText('Grüße aus Köln')), 'Grüße aus Köln');
    assert.match(encodeHeaderText('a =?x?q?y?= b'), /^a =\?UTF-8\?/); // text that looks like a word is encoded
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => {
        const text = s.replace(/[\r\n]/g, ' ');
        const enc = encodeHeaderText(text);
        assert.match(enc, /^[\x20-\x7e\t]*$/);
        for (const w of enc.match(/=\?[^ ]*\?=/g) ?? []) assert.ok(w.length <= 75, w);
        assert.equal(decodeEncodedWords(enc), text);
        assert.equal(decodeEncodedWords(encodePhrase(text)), text);
      }),
      { numRuns: 300 },
    );
  });

  test('foldHeaderField keeps lines within 78 where there is white space', () => {
    const folded = foldHeaderField('Subject', encodeHeaderText('ä'.repeat(100) + ' ' + 'word '.repeat(30)));
    for (const line of folded.split('\r\n').slice(0, -1)) assert.ok(line.length <= 78, line);
    assert.ok(folded.endsWith('\r\n'));
    assert.equal(foldHeaderField('X', 'short'), 'X: short\r\n');
    const parsed = HeaderMap.parse(Buffer.from(folded));
    assert.equal(
      decodeEncodedWords(parsed.get('subject') ?? ''),
      'ä'.repeat(100) + ' ' + 'word '.repeat(30).trim(),
    );
  });
});

describe('MIME parameters', () => {
  const rows: [string, string, ReturnType<typeof parseContentType>][] = [
    // RFC 2045 5.1 examples
    [
      'comment after value',
      'text/plain; charset=us-ascii (Plain text)',
      { type: 'text', subtype: 'plain', params: { charset: 'us-ascii' } },
    ],
    [
      'quoted value',
      'text/plain; charset="us-ascii"',
      { type: 'text', subtype: 'plain', params: { charset: 'us-ascii' } },
    ],
    [
      'case of type folds, value kept',
      'TEXT/Plain; CHARSET=UTF-8',
      { type: 'text', subtype: 'plain', params: { charset: 'UTF-8' } },
    ],
    // RFC 2231 sections 3, 4, 4.1
    [
      'RFC 2231 3 continuations',
      'message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"',
      {
        type: 'message',
        subtype: 'external-body',
        params: { 'access-type': 'URL', url: 'ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar' },
      },
    ],
    [
      'RFC 2231 4 charset and language',
      "application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
      { type: 'application', subtype: 'x-stuff', params: { title: 'This is ***fun***' } },
    ],
    [
      'RFC 2231 4.1 mixed sections',
      "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
      { type: 'application', subtype: 'x-stuff', params: { title: "This is even more ***fun*** isn't it!" } },
    ],
    // hostile rows
    ['no subtype', 'text', null],
    ['empty', '', null],
    ['two slashes', 'text/plain/x', null],
    [
      'garbage params skipped',
      'text/plain; ; garbage; =x; charset=utf-8',
      { type: 'text', subtype: 'plain', params: { charset: 'utf-8' } },
    ],
    [
      'unterminated quote',
      'text/plain; name="abc',
      { type: 'text', subtype: 'plain', params: { name: 'abc' } },
    ],
    ['__proto__ ignored', 'text/plain; __proto__=x', { type: 'text', subtype: 'plain', params: {} }],
    ['first duplicate wins', 'text/plain; a=1; A=2', { type: 'text', subtype: 'plain', params: { a: '1' } }],
    [
      'RFC 2231 wins over plain',
      "text/plain; name=plain.txt; name*=utf-8''%E2%82%AC.txt",
      { type: 'text', subtype: 'plain', params: { name: '€.txt' } },
    ],
    [
      'encoded word in a quoted filename (forbidden, common)',
      'application/pdf; name="=?utf-8?B?w6kucGRm?="',
      { type: 'application', subtype: 'pdf', params: { name: 'é.pdf' } },
    ],
    [
      'unquoted value with spaces',
      'application/pdf; name=my file.pdf',
      { type: 'application', subtype: 'pdf', params: { name: 'my file.pdf' } },
    ],
    [
      'quoted semicolon',
      'multipart/mixed; boundary="a;b"',
      { type: 'multipart', subtype: 'mixed', params: { boundary: 'a;b' } },
    ],
    ['continuation gap stops joining', 'a/b; t*0=x; t*2=z', { type: 'a', subtype: 'b', params: { t: 'x' } }],
    ['unknown charset keeps bytes', "a/b; t*=x-nope''%41", { type: 'a', subtype: 'b', params: { t: 'A' } }],
  ];
  for (const [name, input, want] of rows) test(name, () => assert.deepEqual(parseContentType(input), want));

  test('Content-Disposition (RFC 2183)', () => {
    assert.deepEqual(
      parseDisposition(
        'attachment; filename=genome.jpeg;\r\n modification-date="Wed, 12 Feb 1997 16:29:51 -0500"',
      ),
      {
        value: 'attachment',
        params: { filename: 'genome.jpeg', 'modification-date': 'Wed, 12 Feb 1997 16:29:51 -0500' },
      },
    );
    assert.equal(parseDisposition('no good'), null);
  });

  test('paramsForWire re-encodes non-ASCII values per RFC 2231', () => {
    assert.deepEqual(paramsForWire({ charset: 'utf-8', name: 'ké (1).txt' }), [
      ['charset', 'utf-8'],
      ['name*', "utf-8''k%C3%A9%20%281%29.txt"],
    ]);
  });
});

describe('parseRfc5322Date', () => {
  const rows: [string, string | null][] = [
    ['Fri, 21 Nov 1997 09:55:06 -0600', '1997-11-21T15:55:06.000Z'], // RFC 5322 A.1.1
    ['Tue, 1 Jul 2003 10:52:37 +0200', '2003-07-01T08:52:37.000Z'], // A.1.3
    [
      'Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)',
      '1969-02-14T03:02:00.000Z',
    ], // A.5
    ['21 Nov 97 09:55:06 GMT', '1997-11-21T09:55:06.000Z'], // A.6.2 obsolete
    ['Fri, 21 Nov 1997 09:55:06 PST', '1997-11-21T17:55:06.000Z'],
    ['1 Jan 2024 00:00 +0000', '2024-01-01T00:00:00.000Z'], // no seconds
    ['Mon, 1 Jan 49 12:00:00 EDT', '2049-01-01T16:00:00.000Z'], // 2-digit year < 50 -> 20xx (4.3)
    ['Mon, 1 Jan 103 12:00:00 Z', '2003-01-01T12:00:00.000Z'], // 3-digit year + 1900
    ['Mon, 1 Jan 2024 12:00:00 A', '2024-01-01T12:00:00.000Z'], // military: -0000
    ['Mon, 1 Jan 2024 12:00:00', '2024-01-01T12:00:00.000Z'], // no zone
    ['mon, 01 JAN 2024 12:00:00 +00:00', '2024-01-01T12:00:00.000Z'],
    ['', null],
    ['garbage', null],
    ['31 Feb 2020 10:00:00 +0000', null],
    ['1 Foo 2020 10:00:00 +0000', null],
    ['1 Jan 2020 25:00:00 +0000', null],
    ['32 Jan 2020 10:00:00 +0000', null],
  ];
  for (const [input, want] of rows) {
    test(JSON.stringify(input), () => assert.equal(parseRfc5322Date(input)?.toISOString() ?? null, want));
  }
});

test("the ASCII path of parseHeaderBlock gives the byte path's fields: fixtures, whole messages, random blocks", async () => {
  const dir = join(import.meta.dirname, '../../fixtures/mime');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.eml'));
  assert.ok(names.length > 5);
  for (const name of names) {
    const bytes = await readFile(join(dir, name));
    // As it is (8-bit: the byte path), and as ASCII (8-bit bytes replaced) so the string path runs on it.
    for (const message of [bytes, Buffer.from(bytes.map((b) => (b > 0x7e ? 0x3f : b)))]) {
      assert.deepEqual(parseHeaderBlock(message), parseBlockBytes(message), name);
    }
  }
  // Random blocks from the pieces that matter: names, colons, folding, bare CR/LF, blank lines, 8-bit, junk lines.
  const pieces = [...HEADER_PIECES, '\0', '::', '\r\n\r\n', '\n\n', 'é'];
  for (const text of randomTexts(pieces, 4000, 7)) {
    const block = Buffer.from(text, 'latin1');
    assert.deepEqual(parseHeaderBlock(block), parseBlockBytes(block), JSON.stringify(text));
    if (isAscii(block)) assert.deepEqual(parseAsciiBlock(text), parseBlockBytes(block), JSON.stringify(text));
  }
});
