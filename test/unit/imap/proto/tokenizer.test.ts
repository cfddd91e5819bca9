// Table tests for the IMAP tokenizer (RFC 9051 4 data formats): token trees first, then hostile rows.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { tokenize, tokenizeLine } from '../../../../src/imap/proto/tokenizer.js';
import { ImapSyntaxError } from '../../../../src/imap/proto/types.js';

describe('tokenizer', () => {
  test('atoms, numbers, NIL, quoted, lists, sections with partials', () => {
    assert.deepEqual(tokenizeLine('a FETCH 1:* (FLAGS BODY.PEEK[1.HEADER.FIELDS (To)]<0.10> nil "x\\"y")'), [
      { type: 'atom', value: 'a' },
      { type: 'atom', value: 'FETCH' },
      { type: 'atom', value: '1:*' },
      {
        type: 'list',
        items: [
          { type: 'atom', value: 'FLAGS' },
          {
            type: 'section',
            name: 'BODY.PEEK',
            items: [
              { type: 'atom', value: '1.HEADER.FIELDS' },
              { type: 'list', items: [{ type: 'atom', value: 'To' }] },
            ],
            partial: { offset: 0, length: 10 },
          },
          { type: 'nil', raw: 'nil' },
          { type: 'quoted', value: 'x"y' },
        ],
      },
    ]);
    assert.deepEqual(tokenizeLine('12 \\Seen [Gmail]/All'), [
      { type: 'number', value: 12, raw: '12' },
      { type: 'atom', value: '\\Seen' },
      { type: 'atom', value: '[Gmail]/All' },
    ]);
  });
  test('literals and literal8 from segments', () => {
    const t = tokenize({
      segments: [Buffer.from('a X {2}'), Buffer.from(' ~{1+}'), Buffer.from('')],
      literals: [
        { streamed: false, bytes: Buffer.from('hi'), binary: false },
        { streamed: false, bytes: Buffer.from([0]), binary: true },
      ],
    });
    assert.deepEqual(t.slice(2), [
      { type: 'literal', bytes: Buffer.from('hi'), size: 2, binary: false, index: 0 },
      { type: 'literal', bytes: Buffer.from([0]), size: 1, binary: true, index: 1 },
    ]);
  });
  const bad = [
    'a (',
    'a )',
    'a "x',
    'a "\\n"',
    'a x"y"',
    'a BODY[',
    'a BODY[]<1',
    'a x{',
    'a \t',
    'a {3}',
    'a ((((((((((((((((((x))))))))))))))))))',
  ];
  for (const line of bad) {
    test(`rejects ${JSON.stringify(line)}`, () => assert.throws(() => tokenizeLine(line), ImapSyntaxError));
  }
  test('literal size must match its announcement, and NUL needs literal8', () => {
    assert.throws(
      () =>
        tokenize({
          segments: [Buffer.from('a {3}'), Buffer.from('')],
          literals: [{ streamed: false, bytes: Buffer.from('ab'), binary: false }],
        }),
      ImapSyntaxError,
    );
    assert.throws(
      () =>
        tokenize({
          segments: [Buffer.from('a {1}'), Buffer.from('')],
          literals: [{ streamed: false, bytes: Buffer.from([0]), binary: false }],
        }),
      ImapSyntaxError,
    );
  });
});
