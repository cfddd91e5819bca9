// The setup gate (pure): a few setups per turn, quiet addresses first, busy ones one at a time in turn.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SetupGate } from '../../../src/net/setup-gate.js';

/** A gate whose turns run only when the test says so; `done` lists what was set up, in order. */
function harness(perTurn: number, gone: (item: string) => boolean = () => false) {
  const done: string[] = [];
  let pending: (() => void) | null = null;
  const gate = new SetupGate<string>(
    perTurn,
    (item) => done.push(item),
    gone,
    (fn) => {
      assert.equal(pending, null, 'one turn scheduled at a time');
      pending = fn;
    },
  );
  const turn = (): boolean => {
    const fn = pending;
    pending = null;
    fn?.();
    return fn !== null;
  };
  return { gate, done, turn };
}

describe('SetupGate', () => {
  test('outside a burst every connection is set up at once, turn after turn', () => {
    const { gate, done, turn } = harness(4);
    for (let round = 0; round < 3; round++) {
      gate.offer('192.0.2.1', `a${round}`);
      gate.offer('192.0.2.2', `b${round}`);
      turn();
    }
    assert.deepEqual(done, ['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
    assert.equal(gate.queued, 0);
  });

  test('a burst: perTurn at once, then the quiet address before the busy one', () => {
    const { gate, done, turn } = harness(2);
    // 6 from a busy address, then one from a quiet one, all accepted in one turn.
    for (let i = 0; i < 6; i++) gate.offer('busy', `x${i}`);
    gate.offer('quiet', 'q');
    assert.deepEqual(done, ['x0', 'x1']);
    assert.equal(gate.queued, 5);
    turn();
    // The quiet address's one connection, then the busy address's next; not its whole backlog first.
    assert.deepEqual(done.slice(2), ['q', 'x2']);
    turn();
    assert.deepEqual(done.slice(4), ['x3', 'x4']);
    turn();
    assert.deepEqual(done.slice(6), ['x5']);
    assert.equal(gate.queued, 0);
    // The queue is empty: the next turn's arrivals go at once again.
    turn();
    gate.offer('quiet', 'q2');
    assert.deepEqual(done.slice(7), ['q2']);
  });

  test('a quiet address waits one turn, however many busy addresses are in the ring', () => {
    const { gate, done, turn } = harness(4);
    for (let i = 0; i < 4; i++) gate.offer('warm-up', `w${i}`); // the turn's budget is spent
    for (let a = 0; a < 50; a++) for (let i = 0; i < 6; i++) gate.offer(`busy${a}`, `b${a}.${i}`);
    turn();
    turn();
    gate.offer('good', 'g');
    turn();
    // Round-robin alone would have served 50 busy addresses first (~13 turns); the quiet one comes first.
    assert.equal(done.indexOf('g'), 4 + 4 + 4);
  });

  test('single connections from many addresses never starve the busy ones', () => {
    const { gate, done, turn } = harness(4);
    for (let i = 0; i < 4; i++) gate.offer('warm-up', `w${i}`);
    for (let i = 0; i < 20; i++) gate.offer('busy', `x${i}`);
    for (let t = 0; t < 10; t++) {
      for (let a = 0; a < 10; a++) gate.offer(`one${t}.${a}`, `s${t}.${a}`);
      const before = done.length;
      turn();
      const served = done.slice(before);
      assert.equal(served.length, 4);
      // Three singles and one from the busy address, every turn, although the singles never run out.
      assert.equal(served.filter((item) => item.startsWith('x')).length, 1, `turn ${t}: ${served.join(' ')}`);
    }
  });

  test('an address whose single connection gets company joins the ring', () => {
    const { gate, done, turn } = harness(2);
    gate.offer('w', 'w0');
    gate.offer('w', 'w1');
    gate.offer('a', 'a0'); // single
    gate.offer('b', 'b0'); // single
    gate.offer('a', 'a1'); // a now busy: the ring
    turn();
    // b is still single and goes first; a takes the ring's setup.
    assert.deepEqual(done.slice(2), ['b0', 'a0']);
    turn();
    assert.deepEqual(done.slice(4), ['a1']);
    assert.equal(gate.queued, 0);
  });

  test('while some wait, a newcomer waits its turn too (no overtaking through the budget)', () => {
    const { gate, done, turn } = harness(2);
    for (let i = 0; i < 5; i++) gate.offer('a', `a${i}`);
    turn(); // a2, a3
    gate.offer('b', 'b0'); // budget used by a2 and a3 this turn; b waits for the next
    assert.deepEqual(done, ['a0', 'a1', 'a2', 'a3']);
    turn();
    assert.deepEqual(done, ['a0', 'a1', 'a2', 'a3', 'b0', 'a4']);
  });

  test('perTurn below 2 is refused: one setup of each turn is kept for busy addresses', () => {
    assert.throws(() => harness(1), RangeError);
  });

  test('three addresses share the turns evenly', () => {
    const { gate, done, turn } = harness(3);
    gate.offer('a', 'first');
    gate.offer('a', 'second');
    gate.offer('a', 'third');
    for (let i = 0; i < 4; i++) {
      gate.offer('a', `a${i}`);
      gate.offer('b', `b${i}`);
      gate.offer('c', `c${i}`);
    }
    while (turn());
    assert.deepEqual(done.slice(0, 3), ['first', 'second', 'third']);
    assert.deepEqual(done.slice(3), ['a0', 'b0', 'c0', 'a1', 'b1', 'c1', 'a2', 'b2', 'c2', 'a3', 'b3', 'c3']);
  });

  test('a connection that closed while it waited is skipped and does not use the budget', () => {
    const closed = new Set(['x3', 'x4', 'q']);
    const { gate, done, turn } = harness(2, (item) => closed.has(item));
    for (let i = 0; i < 6; i++) gate.offer('busy', `x${i}`);
    gate.offer('quiet', 'q');
    turn();
    assert.deepEqual(done, ['x0', 'x1', 'x2', 'x5']);
    assert.equal(gate.queued, 0);
  });

  test('nothing scheduled when idle: no timer keeps a quiet server busy', () => {
    const { gate, turn } = harness(2);
    gate.offer('a', 'a0');
    assert.equal(turn(), true); // resets the count
    assert.equal(turn(), false);
    assert.equal(gate.queued, 0);
  });
});
