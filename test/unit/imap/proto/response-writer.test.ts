// Table tests for IMAP response serialisation: strings, literals, status lines, FETCH, ENVELOPE, BODYSTRUCTURE (RFC 9051 7).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  continuation,
  fetchResponse,
  fetchResponseName,
  formatDateTime,
  partsToBuffer,
  serializeValue,
  taggedStatus,
  untaggedData,
  untaggedStatus,
} from '../../../../src/imap/proto/response-writer.js';
import type { ImapValue } from '../../../../src/imap/proto/response-writer.js';
import { bodyStructureValue, envelopeValue } from '../../../../src/imap/proto/structure-writer.js';
import type { BodyStructure, Envelope } from '../../../../src/imap/proto/types.js';

const rev1 = { utf8: false };
const rev2 = { utf8: true };
const ser = (v: ImapValue, o = rev1): string => partsToBuffer(serializeValue(v, o)).toString('utf8');

describe('values', () => {
  const rows: Array<[ImapValue, string, boolean?]> = [
    [null, 'NIL'],
    [42, '42'],
    ['plain', '"plain"'],
    ['a "q" \\b', '"a \\"q\\" \\\\b"'],
    ['two\r\nlines', '{10}\r\ntwo\r\nlines'], // CR/LF only in a literal (RFC 9051 4.3)
    ['Entwürfe', '{9}\r\nEntwürfe'], // 8-bit for rev1: literal
    ['Entwürfe', '"Entwürfe"', true], // rev2 / UTF8=ACCEPT: quoted UTF-8
    ['x'.repeat(2000), `{2000}\r\n${'x'.repeat(2000)}`],
    [Buffer.from([0, 1]), '~{2}\r\n\u0000\u0001'], // NUL: literal8 (RFC 3516 4.3)
    [[{ atom: '\\Seen' }, { atom: '$Junk' }], '(\\Seen $Junk)'],
    [[], '()'],
  ];
  for (const [v, want, utf8] of rows) {
    test(JSON.stringify(want).slice(0, 60), () => assert.equal(ser(v, utf8 ? rev2 : rev1), want));
  }
  test('atoms that would change the syntax are refused', () => {
    for (const bad of ['a b', 'a)', 'x\r\n', '', '"']) assert.throws(() => ser({ atom: bad }), RangeError);
  });
  test('status lines cannot be broken by text', () => {
    assert.equal(taggedStatus('a1', 'OK', null, 'done'), 'a1 OK done\r\n');
    assert.equal(
      taggedStatus('a2', 'NO', { name: 'TRYCREATE' }, 'no such\r\n* BYE x'),
      'a2 NO [TRYCREATE] no such * BYE x\r\n',
    );
    assert.equal(
      untaggedStatus('OK', { name: 'UIDNEXT', args: '4392' }, 'Predicted next UID'),
      '* OK [UIDNEXT 4392] Predicted next UID\r\n',
    );
    assert.equal(continuation('Ready'), '+ Ready\r\n');
    assert.throws(() => taggedStatus('a', 'OK', { name: 'X', args: 'a]b' }, 't'));
  });
  test('untagged data', () => {
    assert.equal(
      partsToBuffer(untaggedData([{ raw: 'FLAGS' }, [{ atom: '\\Seen' }]], rev1)).toString(),
      '* FLAGS (\\Seen)\r\n',
    );
  });
});

describe('FETCH responses', () => {
  test('RFC 9051 7.5.2 style FETCH with a streamed body', () => {
    const parts = fetchResponse(
      12,
      [
        ['FLAGS', [{ atom: '\\Seen' }]],
        ['INTERNALDATE', formatDateTime(Date.UTC(1996, 6, 17, 9, 44, 25), -420)],
        ['RFC822.SIZE', 4286],
        ['BODY[]', { kind: 'streamed-literal', size: 4286, binary: false, source: 'blob-1' }],
      ],
      rev1,
    );
    assert.equal(parts.length, 3);
    assert.equal(
      (parts[0] as Buffer).toString(),
      '* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 BODY[] {4286}\r\n',
    );
    assert.deepEqual(parts[1], { kind: 'streamed-literal', size: 4286, binary: false, source: 'blob-1' });
    assert.equal((parts[2] as Buffer).toString(), ')\r\n');
  });
  test('response names for requested items', () => {
    assert.equal(
      fetchResponseName({
        type: 'BODY[]',
        peek: true,
        section: { part: [1, 2], text: { kind: 'HEADER.FIELDS', fields: ['From', 'X-A'], not: true } },
        partial: { offset: 10, length: 20 },
      }),
      'BODY[1.2.HEADER.FIELDS.NOT (From X-A)]<10>',
    );
    assert.equal(fetchResponseName({ type: 'BINARY', peek: true, part: [], partial: null }), 'BINARY[]');
    assert.equal(fetchResponseName({ type: 'BINARY.SIZE', part: [3] }), 'BINARY.SIZE[3]');
    assert.equal(fetchResponseName({ type: 'RFC822.SIZE' }), 'RFC822.SIZE');
    assert.equal(formatDateTime(Date.UTC(2024, 0, 5, 1, 2, 3)), ' 5-Jan-2024 01:02:03 +0000');
  });
});

describe('ENVELOPE and BODYSTRUCTURE', () => {
  // RFC 3501 7.4.2 FETCH example (ENVELOPE of the famous "IMAP4rev1 WG mtg summary and minutes").
  const env: Envelope = {
    date: 'Wed, 17 Jul 1996 02:23:25 -0700 (PDT)',
    subject: 'IMAP4rev1 WG mtg summary and minutes',
    from: [{ name: 'Terry Gray', adl: null, mailbox: 'gray', host: 'cac.washington.edu' }],
    sender: [],
    replyTo: [],
    to: [{ name: null, adl: null, mailbox: 'imap', host: 'cac.washington.edu' }],
    cc: [
      { name: null, adl: null, mailbox: 'minutes', host: 'CNRI.Reston.VA.US' },
      { name: 'John Klensin', adl: null, mailbox: 'KLENSIN', host: 'MIT.EDU' },
    ],
    bcc: [],
    inReplyTo: null,
    messageId: '<B27397-0100000@cac.washington.edu>',
  };
  test('RFC 3501 7.4.2 envelope (Sender/Reply-To default to From)', () => {
    assert.equal(
      ser(envelopeValue(env)),
      '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
        '((NIL NIL "minutes" "CNRI.Reston.VA.US") ("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ' +
        '"<B27397-0100000@cac.washington.edu>")',
    );
  });
  const text: BodyStructure = {
    kind: 'text',
    type: 'text',
    subtype: 'plain',
    params: [{ name: 'charset', value: 'US-ASCII' }],
    id: null,
    description: null,
    encoding: '7bit',
    size: 3028,
    lines: 92,
    md5: null,
    disposition: null,
    language: null,
    location: null,
  };
  test('RFC 3501 7.4.2 BODY of a text/plain message', () => {
    assert.equal(
      ser(bodyStructureValue(text, false)),
      '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)',
    );
    assert.equal(
      ser(bodyStructureValue(text, true)),
      '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)',
    );
  });
  test('multipart children are adjacent, extension data follows (RFC 9051 9 body-type-mpart)', () => {
    const mp: BodyStructure = {
      kind: 'multipart',
      subtype: 'mixed',
      params: [{ name: 'boundary', value: 'x' }],
      parts: [
        text,
        {
          kind: 'basic',
          type: 'application',
          subtype: 'pdf',
          params: [{ name: 'name', value: 'a b.pdf' }],
          id: null,
          description: null,
          encoding: 'base64',
          size: 100,
          md5: null,
          disposition: { type: 'attachment', params: [{ name: 'filename', value: 'a b.pdf' }] },
          language: ['en'],
          location: null,
        },
      ],
      disposition: null,
      language: null,
      location: null,
    };
    assert.equal(
      ser(bodyStructureValue(mp, false)),
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)' +
        '("APPLICATION" "PDF" ("NAME" "a b.pdf") NIL NIL "BASE64" 100) "MIXED")',
    );
    assert.match(ser(bodyStructureValue(mp, true)), /"MIXED" \("BOUNDARY" "x"\) NIL NIL NIL\)$/);
    assert.match(
      ser(bodyStructureValue(mp, true)),
      /\("ATTACHMENT" \("FILENAME" "a b\.pdf"\)\) \("en"\) NIL\)/,
    );
  });
  test('message/rfc822 and empty multipart', () => {
    const msg: BodyStructure = {
      ...text,
      kind: 'message',
      type: 'message',
      subtype: 'rfc822',
      envelope: env,
      body: text,
      lines: 100,
    };
    assert.match(
      ser(bodyStructureValue(msg, false)),
      /^\("MESSAGE" "RFC822" .* "7BIT" 3028 \(".*"\) \("TEXT" .*\) 100\)$/,
    );
    const empty: BodyStructure = {
      kind: 'multipart',
      subtype: 'mixed',
      params: [],
      parts: [],
      disposition: null,
      language: null,
      location: null,
    };
    assert.equal(
      ser(bodyStructureValue(empty, false)),
      '(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0) "MIXED")',
    );
  });
});
