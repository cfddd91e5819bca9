// RFC 5256 3 THREAD=REFERENCES and ORDEREDSUBJECT on the pure engine: the algorithm's rules as table rows, then hostile rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  messageIds,
  threadableMessage,
  threadOrderedSubject,
  threadReferences,
} from '../../../src/mail/threading.js';
import type { ThreadableMessage } from '../../../src/mail/threading.js';
import { threadListText } from '../../../src/imap/commands/sort.js';

/** A message as a test row writes it: its header fields; order = position + 1, arrival = order minutes. */
type Row = Record<string, string>;

function records(rows: Row[]): ThreadableMessage[] {
  return rows.map((r, i) =>
    threadableMessage({
      order: i + 1,
      arrival: Date.UTC(2026, 0, 1) + (i + 1) * 60_000,
      header: (name) => r[name],
    }),
  );
}

const refs = (rows: Row[]): string => threadListText(threadReferences(records(rows)), (m) => m.order);
const ordered = (rows: Row[]): string => threadListText(threadOrderedSubject(records(rows)), (m) => m.order);

/** A Date header `n` hours into 2 Jan 2026. */
const at = (n: number): string => `Fri, 2 Jan 2026 ${String(n).padStart(2, '0')}:00:00 +0000`;

test('Message IDs: valid ids in order, comments skipped, junk ignored', () => {
  assert.deepEqual(messageIds('<a@x> <b@y>\r\n <c@z>'), ['a@x', 'b@y', 'c@z']);
  assert.deepEqual(messageIds('<a@x> (message from Ann <ann@x>)'), ['a@x']);
  assert.deepEqual(messageIds('no id here <nohost> <>'), []);
  assert.deepEqual(messageIds(undefined), []);
});

test('RFC 5256 3 step 1: References link parent to child in order; In-Reply-To is used only without References', () => {
  assert.equal(
    refs([
      { 'message-id': '<a@x>', subject: 'A' },
      { 'message-id': '<b@x>', references: '<a@x>', subject: 'B' },
      { 'message-id': '<c@x>', references: '<a@x> <b@x>', subject: 'C' },
      // In-Reply-To names b, but References (a only) wins.
      { 'message-id': '<d@x>', references: '<a@x>', 'in-reply-to': '<b@x>', subject: 'D' },
      { 'message-id': '<e@x>', 'in-reply-to': '<c@x> <a@x>', subject: 'E' },
    ]),
    '(1 (2 3 5)(4))',
  );
});

test('RFC 5256 3 step 1: dummies for missing parents; step 3 prunes them (promoted, kept at the root if 2+ children)', () => {
  // b and c both answer the missing x: a dummy with two children stays at the root.
  assert.equal(
    refs([
      { 'message-id': '<b@x>', references: '<x@x>', subject: 'B' },
      { 'message-id': '<c@x>', references: '<x@x>', subject: 'C' },
    ]),
    '((1)(2))',
  );
  // A dummy with one child at the root is replaced by the child.
  assert.equal(refs([{ 'message-id': '<b@x>', references: '<x@x>', subject: 'B' }]), '(1)');
  // Below the root a dummy is always replaced by its children: a -> (missing y) -> c, d.
  assert.equal(
    refs([
      { 'message-id': '<a@x>', subject: 'A' },
      { 'message-id': '<c@x>', references: '<a@x> <y@x>', subject: 'C' },
      { 'message-id': '<d@x>', references: '<a@x> <y@x>', subject: 'D' },
    ]),
    '(1 (2)(3))',
  );
});

test('RFC 5256 3 step 1: a duplicate Message ID is used only by the first message; loops are never made', () => {
  assert.equal(
    refs([
      { 'message-id': '<a@x>', subject: 'A' },
      { 'message-id': '<a@x>', subject: 'B' },
      { 'message-id': '<c@x>', references: '<a@x>', subject: 'C' },
    ]),
    '(1 3)(2)',
  );
  // a says it follows b, b says it follows a: the second link would be a loop and is not made.
  assert.equal(
    refs([
      { 'message-id': '<a@x>', references: '<b@x>', subject: 'A' },
      { 'message-id': '<b@x>', references: '<a@x>', subject: 'B' },
    ]),
    '(2 1)',
  );
  // A message referring to itself.
  assert.equal(refs([{ 'message-id': '<a@x>', references: '<a@x>', subject: 'A' }]), '(1)');
});

test('RFC 5256 3 step 1.B: a message keeps its own References parent over one implied by a truncated list', () => {
  // c's References say a, b, c's parent... then d's truncated References (a, c) would make c a child of a,
  // but "an existing parent is not changed" in 1.A, and 1.B relinks only the message itself.
  assert.equal(
    refs([
      { 'message-id': '<a@x>', subject: 'A' },
      { 'message-id': '<b@x>', references: '<a@x>', subject: 'B' },
      { 'message-id': '<c@x>', references: '<a@x> <b@x>', subject: 'C' },
      { 'message-id': '<d@x>', references: '<a@x> <c@x>', subject: 'D' },
    ]),
    '(1 2 3 4)',
  );
  // A message first seen as a reference gets its parent from its own References when it arrives.
  assert.equal(
    refs([
      { 'message-id': '<c@x>', references: '<b@x>', subject: 'C' },
      { 'message-id': '<a@x>', subject: 'A' },
      { 'message-id': '<b@x>', references: '<a@x>', subject: 'B' },
    ]),
    '(2 3 1)',
  );
});

test('RFC 5256 3 steps 4 and 6: siblings and threads by sent date (Date, else INTERNALDATE), then mailbox order', () => {
  assert.equal(
    refs([
      { 'message-id': '<a@x>', subject: 'A', date: at(5) },
      { 'message-id': '<b@x>', references: '<a@x>', subject: 'B', date: at(9) },
      { 'message-id': '<c@x>', references: '<a@x>', subject: 'C', date: at(7) },
      { 'message-id': '<d@x>', subject: 'D', date: at(1) },
      // No usable Date: its INTERNALDATE (1 Jan 2026) sorts first.
      { 'message-id': '<e@x>', subject: 'E', date: 'garbage' },
      // The same date as d: mailbox order decides.
      { 'message-id': '<f@x>', subject: 'F', date: at(1) },
    ]),
    '(5)(4)(6)(1 (3)(2))',
  );
  // A dummy at the root sorts by its first (earliest) child.
  assert.equal(
    refs([
      { 'message-id': '<a@x>', subject: 'A', date: at(3) },
      { 'message-id': '<b@x>', references: '<x@x>', subject: 'B', date: at(4) },
      { 'message-id': '<c@x>', references: '<x@x>', subject: 'C', date: at(2) },
    ]),
    '((3)(2))(1)',
  );
});

test('RFC 5256 3 step 5: threads with the same base subject are gathered', () => {
  // A reply without headers becomes a child of the original (5.C: reply under non-reply).
  assert.equal(
    refs([
      { 'message-id': '<a@x>', subject: 'Hello', date: at(1) },
      { 'message-id': '<b@x>', subject: 'Re: Hello', date: at(2) },
    ]),
    '(1 2)',
  );
  // Also when the reply is older: the table holds the non-reply (5.B.iv).
  assert.equal(
    refs([
      { 'message-id': '<b@x>', subject: 'Re: hello', date: at(1) },
      { 'message-id': '<a@x>', subject: 'HELLO', date: at(2) },
    ]),
    '(2 1)',
  );
  // Two non-replies: a new dummy holds both.
  assert.equal(
    refs([
      { 'message-id': '<a@x>', subject: 'Hello', date: at(1) },
      { 'message-id': '<b@x>', subject: '[list] Hello', date: at(2) },
    ]),
    '((1)(2))',
  );
  // Two replies: the same.
  assert.equal(
    refs([
      { 'message-id': '<a@x>', subject: 'Re: Hello', date: at(1) },
      { 'message-id': '<b@x>', subject: 'Fwd: Hello', date: at(2) },
    ]),
    '((1)(2))',
  );
  // A dummy thread is preferred: a message with the subject joins it as one more child.
  assert.equal(
    refs([
      { 'message-id': '<b@x>', references: '<x@x>', subject: 'Re: Hello', date: at(2) },
      { 'message-id': '<c@x>', references: '<x@x>', subject: 'Re: Hello', date: at(3) },
      { 'message-id': '<a@x>', subject: 'Hello', date: at(1) },
    ]),
    '((3)(1)(2))',
  );
  // Two dummies with the same subject: all their children become siblings.
  assert.equal(
    refs([
      { 'message-id': '<b@x>', references: '<x@x>', subject: 'Re: Hi', date: at(1) },
      { 'message-id': '<c@x>', references: '<x@x>', subject: 'Re: Hi', date: at(3) },
      { 'message-id': '<d@x>', references: '<y@x>', subject: 'Re: Hi', date: at(2) },
      { 'message-id': '<e@x>', references: '<y@x>', subject: 'Re: Hi', date: at(4) },
    ]),
    '((1)(3)(2)(4))',
  );
  // An empty base subject gathers nothing.
  assert.equal(
    refs([
      { 'message-id': '<a@x>', subject: '', date: at(1) },
      { 'message-id': '<b@x>', subject: 'Re: ', date: at(2) },
    ]),
    '(1)(2)',
  );
  // Messages already threaded by References are not touched by the subject (only root children are).
  assert.equal(
    refs([
      { 'message-id': '<a@x>', subject: 'One', date: at(1) },
      { 'message-id': '<b@x>', references: '<a@x>', subject: 'Two', date: at(2) },
      { 'message-id': '<c@x>', subject: 'Two', date: at(3) },
    ]),
    '(1 2)(3)',
  );
});

test('RFC 5256 3 ORDEREDSUBJECT: one thread per base subject, children in date order, threads by first date', () => {
  assert.equal(
    ordered([
      { subject: 'Hello', date: at(5) },
      { subject: 'Re: hello', date: at(2) },
      { subject: 'Other', date: at(3) },
      { subject: 'Fwd: Hello', date: at(9) },
      { subject: 'Re: Other', date: at(4) },
      { subject: 'Alone', date: at(8) },
    ]),
    '(2 (1)(4))(3 5)(6)',
  );
  assert.equal(ordered([]), '');
});

test('hostile: a References chain 20,000 deep and 20,000 siblings thread without recursion', () => {
  const chain: Row[] = [];
  for (let i = 0; i < 20_000; i++)
    chain.push({ 'message-id': `<m${i}@x>`, 'in-reply-to': i > 0 ? `<m${i - 1}@x>` : '', subject: 'S' });
  const text = refs(chain);
  assert.equal(text, `(${chain.map((_, i) => i + 1).join(' ')})`);
  const flat: Row[] = [{ 'message-id': '<root@x>', subject: 'S' }];
  for (let i = 0; i < 20_000; i++)
    flat.push({ 'message-id': `<s${i}@x>`, references: '<root@x>', subject: 'S' });
  assert.ok(refs(flat).startsWith('(1 (2)(3)'));
  // Every message sits in the output exactly once.
  const numbers = refs(flat).match(/\d+/g) ?? [];
  assert.equal(new Set(numbers).size, 20_001);
});
