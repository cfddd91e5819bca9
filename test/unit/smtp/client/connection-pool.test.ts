// The idle-connection pool: take/put per peer, limits, idle expiry, age limit, a peer hanging up, shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionPool } from '../../../../src/smtp/client/connection-pool.js';
import type { ParkedSession } from '../../../../src/smtp/client/connection.js';

/** A parked session that records quit() and can be hung up by the "peer". */
function fakeSession(): ParkedSession & { quits: number; hangUp(): void } {
  let open = true;
  const listeners: (() => void)[] = [];
  const s = {
    quits: 0,
    get usable() {
      return open;
    },
    run: () => Promise.reject(new Error('not used here')),
    quit() {
      s.quits++;
      s.hangUp();
    },
    onClose(f: () => void) {
      if (open) listeners.push(f);
      else f();
    },
    hangUp() {
      open = false;
      for (const f of listeners.splice(0)) f();
    },
  };
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('take returns what was put for the same key only, most recent first; a taken one is gone', () => {
  const pool = new ConnectionPool();
  const a = fakeSession();
  const b = fakeSession();
  pool.put('k', a);
  pool.put('k', b);
  assert.equal(pool.take('other'), null);
  assert.equal(pool.take('k'), b);
  assert.equal(pool.take('k'), a);
  assert.equal(pool.take('k'), null);
  assert.equal(pool.size, 0);
  assert.deepEqual([a.quits, b.quits], [0, 0]);
  pool.close();
});

test('limits: per key and in all; over a limit the connection is QUIT at once, not kept', () => {
  const pool = new ConnectionPool({ maxIdle: 3, maxIdlePerKey: 2 });
  const s = Array.from({ length: 5 }, () => fakeSession());
  pool.put('a', s[0] as ParkedSession);
  pool.put('a', s[1] as ParkedSession);
  pool.put('a', s[2] as ParkedSession); // third for 'a'
  pool.put('b', s[3] as ParkedSession);
  pool.put('c', s[4] as ParkedSession); // fourth in all
  assert.deepEqual(
    s.map((x) => x.quits),
    [0, 0, 1, 0, 1],
  );
  assert.equal(pool.size, 3);
  pool.close();
  assert.deepEqual(
    s.map((x) => x.quits),
    [1, 1, 1, 1, 1],
    'close() QUITs every idle one',
  );
  const late = fakeSession();
  pool.put('a', late);
  assert.equal(late.quits, 1, 'after close, put() QUITs');
});

test('an idle connection is QUIT after idleMs; one the peer hung up is forgotten; unusable ones are never handed out', async () => {
  const pool = new ConnectionPool({ idleMs: 30 });
  const a = fakeSession();
  const b = fakeSession();
  pool.put('k', a);
  pool.put('k', b);
  b.hangUp();
  assert.equal(pool.size, 1, 'the hung-up one left the pool');
  await sleep(80);
  assert.equal(a.quits, 1);
  assert.equal(pool.size, 0);
  assert.equal(pool.take('k'), null);
  assert.equal(pool.stats.expired, 1);
  const dead = fakeSession();
  dead.hangUp();
  pool.put('k', dead);
  assert.equal(pool.size, 0, 'a closed session is not parked');
});

test('maxAgeMs counts from the first park: an old connection is QUIT instead of parked again', () => {
  let now = 0;
  const pool = new ConnectionPool({ maxAgeMs: 1000, now: () => now });
  const a = fakeSession();
  pool.put('k', a);
  assert.equal(pool.take('k'), a);
  now = 999;
  pool.put('k', a);
  assert.equal(pool.take('k'), a);
  now = 1000;
  pool.put('k', a);
  assert.equal(a.quits, 1);
  assert.equal(pool.take('k'), null);
  pool.close();
});
