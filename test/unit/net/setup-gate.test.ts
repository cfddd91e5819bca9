// The setup gate (pure): a few setups per turn, the waiting ones served one address at a time in turn.
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

  test('a burst: perTurn at once, the rest one address at a time in turn', () => {
    const { gate, done, turn } = harness(2);
    // 6 from a busy address, then one from a quiet one, all accepted in one turn.
    for (let i = 0; i < 6; i++) gate.offer('busy', `x${i}`);
    gate.offer('quiet', 'q');
    assert.deepEqual(done, ['x0', 'x1']);
    assert.equal(gate.queued, 5);
    turn();
    // Round-robin: the busy address's next, then the quiet one; not the busy address's whole backlog first.
    assert.deepEqual(done.slice(2), ['x2', 'q']);
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

  test('while some wait, a newcomer waits its turn too (no overtaking through the budget)', () => {
    const { gate, done, turn } = harness(1);
    gate.offer('a', 'a0');
    gate.offer('a', 'a1');
    gate.offer('a', 'a2');
    turn(); // a1
    gate.offer('b', 'b0'); // budget used by a1 this turn; b waits for its round
    assert.deepEqual(done, ['a0', 'a1']);
    turn();
    turn();
    // a was served last, so b's round comes before a's next.
    assert.deepEqual(done, ['a0', 'a1', 'b0', 'a2']);
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
    const closed = new Set(['x1', 'x2']);
    const { gate, done, turn } = harness(1, (item) => closed.has(item));
    for (let i = 0; i < 4; i++) gate.offer('busy', `x${i}`);
    turn();
    assert.deepEqual(done, ['x0', 'x3']);
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
