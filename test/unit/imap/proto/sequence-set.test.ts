// Table tests for IMAP sequence sets: RFC 9051 9 grammar rows first, then hostile rows.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatNumbers,
  formatSequenceSet,
  inRanges,
  parseSequenceSet,
  resolveSequenceSet,
  countRanges,
} from '../../../../src/imap/proto/sequence-set.js';
import type { SeqRange } from '../../../../src/imap/proto/sequence-set.js';
import { ImapSyntaxError } from '../../../../src/imap/proto/types.js';

function ranges(text: string): SeqRange[] {
  const s = parseSequenceSet(text);
  assert.equal(s.kind, 'set');
  return s.kind === 'set' ? s.ranges : [];
}

describe('sequence sets', () => {
  // RFC 9051 9 "sequence-set" example: with messages 2,4,5,6,7,9,12,13,14,15 in a 15-message mailbox,
  // "2,4:7,9,12:*" names them; "*:4" is "4:*" (order does not matter).
  const resolveRows: Array<[string, number, Array<[number, number]>]> = [
    [
      '2,4:7,9,12:*',
      15,
      [
        [2, 2],
        [4, 7],
        [9, 9],
        [12, 15],
      ],
    ],
    ['*:4', 15, [[4, 15]]],
    ['1:*', 3, [[1, 3]]],
    ['*', 7, [[7, 7]]],
    ['1:*', 0, []], // RFC 9051 6.4.8: "*" in an empty mailbox names nothing
    ['10:*', 5, [[5, 5]]], // RFC 9051 6.4.8: UID range n:* with n > max still includes the last
    ['3,1,2', 10, [[1, 3]]],
    ['5:3,4:8', 10, [[3, 8]]],
    ['20:30', 10, []],
  ];
  for (const [text, max, want] of resolveRows) {
    test(`resolve ${text} max ${max}`, () => {
      assert.deepEqual(resolveSequenceSet(ranges(text), max), want);
    });
  }

  test('$ is the saved result (RFC 5182)', () => {
    assert.deepEqual(parseSequenceSet('$'), { kind: 'saved' });
  });

  const bad = [
    '',
    '0',
    '1:0',
    '01',
    '-1',
    '1,',
    ',1',
    '1::2',
    'a',
    '4294967296',
    '99999999999999999999',
    '1 2',
    '$,1',
  ];
  for (const text of bad) {
    test(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseSequenceSet(text), ImapSyntaxError);
    });
  }

  test('accepts the largest uint32', () => {
    assert.deepEqual(ranges('4294967295'), [{ start: 4294967295, end: 4294967295 }]);
  });

  test('10,000 ranges resolve and test membership quickly', () => {
    const text = Array.from({ length: 10_000 }, (_, i) => `${i * 3 + 1}:${i * 3 + 2}`).join(',');
    const r = resolveSequenceSet(ranges(text), 4294967295);
    assert.equal(r.length, 10_000);
    assert.equal(countRanges(r), 20_000);
    assert.equal(inRanges(29_998, r), true);
    assert.equal(inRanges(30_000, r), false);
    assert.equal(inRanges(3, r), false);
  });

  test('format', () => {
    assert.equal(formatNumbers([5, 1, 2, 3, 9, 8]), '1:3,5,8:9');
    assert.equal(formatSequenceSet(parseSequenceSet('1:*,4')), '1:*,4');
  });
});
