// Per-account request slots: a request over the limit waits for a freed slot (first come first served), bounded in time and number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InFlight } from '../../../src/http/responses.js';

test('a freed slot goes to the first waiter; the count never passes the limit', async () => {
  const f = new InFlight(2);
  assert.equal(f.enter(1), true);
  assert.equal(f.enter(1), true);
  assert.equal(f.enter(1), false);
  const order: string[] = [];
  const a = f.enterOrWait(1, 1000, 8).then((ok) => order.push(`a:${ok}`));
  const b = f.enterOrWait(1, 1000, 8).then((ok) => order.push(`b:${ok}`));
  f.leave(1);
  await a;
  assert.deepEqual(order, ['a:true']);
  // The slot passed to "a": a newcomer still finds none.
  assert.equal(f.enter(1), false);
  f.leave(1);
  await b;
  assert.deepEqual(order, ['a:true', 'b:true']);
  f.leave(1);
  f.leave(1);
  assert.equal(f.enter(1), true, 'all slots free again');
  // Another key has its own slots.
  assert.equal(f.enter(2), true);
});

test('a waiter gives up after maxWaitMs; past maxWaiters the answer is no at once', async () => {
  const f = new InFlight(1);
  assert.equal(f.enter(1), true);
  const t0 = Date.now();
  assert.equal(await f.enterOrWait(1, 30, 1), false);
  assert.ok(Date.now() - t0 >= 25);
  const waiting = f.enterOrWait(1, 5000, 1);
  assert.equal(await f.enterOrWait(1, 5000, 1), false, 'one waiter already');
  f.leave(1);
  assert.equal(await waiting, true);
  assert.equal(await f.enterOrWait(1, 0, 1), false, 'no wait asked for');
});
