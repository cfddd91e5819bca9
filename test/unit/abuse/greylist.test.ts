// Greylisting decisions (pure, fake clock) and the store-backed check over SQLite: triplets, auto-pass, expiry, bounds.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clientNetwork,
  createGreylist,
  DEFAULT_GREYLIST_SETTINGS as S,
  type GreylistFacts,
} from '../../../src/abuse/greylist.js';
import type { GreylistPrune, GreylistRow } from '../../../src/store/policy-store.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

const MIN = 60_000;
const DAY = 86_400_000;

/** An in-memory GreylistStore, so the decisions are checked without SQL. */
function memoryStore() {
  const rows = new Map<string, GreylistRow>();
  return {
    rows,
    greylistRows: (keys: readonly string[]) => keys.flatMap((k) => (rows.has(k) ? [rows.get(k)!] : [])),
    greylistSave: (save: readonly GreylistRow[], _prune: GreylistPrune) =>
      save.forEach((r) => rows.set(r.key, r)),
  };
}

function harness(start = Date.UTC(2026, 11, 5)) {
  let now = start;
  const store = memoryStore();
  const check = createGreylist(store, S, () => now);
  return {
    store,
    check: (f: Partial<GreylistFacts> = {}) =>
      check({ ip: '198.51.100.7', sender: 'a@origin.test', recipient: 'alice@example.test', ...f }),
    /** One check: [verdict, reason]. */
    both: () => {
      const d = check({ ip: '198.51.100.7', sender: 'a@origin.test', recipient: 'alice@example.test' });
      return [d.verdict, d.reason];
    },
    advance: (ms: number) => (now += ms),
  };
}

describe('clientNetwork', () => {
  test('IPv4 /24, IPv4-mapped IPv6 as IPv4, IPv6 /64', () => {
    assert.equal(clientNetwork('198.51.100.7'), '198.51.100.0/24');
    assert.equal(clientNetwork('::ffff:198.51.100.200'), '198.51.100.0/24');
    assert.equal(clientNetwork('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(clientNetwork('2001:db8:1:2::9'), '2001:db8:1:2::/64');
  });
});

describe('greylisting decisions (postgrey)', () => {
  test('new triplet: defer; a retry before the delay: defer; after it: pass', () => {
    const h = harness();
    assert.deepEqual(h.both(), ['defer', 'new']);
    h.advance(4 * MIN);
    assert.deepEqual(h.both(), ['defer', 'too-early']);
    h.advance(MIN);
    assert.deepEqual([h.check().verdict], ['pass']);
  });

  test('after a successful retry the triplet passes and the client network auto-passes other triplets', () => {
    const h = harness();
    h.check();
    h.advance(5 * MIN);
    assert.equal(h.check().reason, 'retried');
    // Another sender, recipient and an IP of the same /24: no delay any more.
    assert.equal(
      h.check({ ip: '198.51.100.99', sender: 'z@else.test', recipient: 'bob@example.test' }).verdict,
      'pass',
    );
    // Another /24 is a stranger.
    assert.equal(h.check({ ip: '198.51.101.7' }).verdict, 'defer');
  });

  test('the null sender is greylisted like any other (real MTAs retry bounces)', () => {
    const h = harness();
    assert.equal(h.check({ sender: '' }).verdict, 'defer');
    h.advance(6 * MIN);
    assert.equal(h.check({ sender: '' }).verdict, 'pass');
  });

  test('sender and recipient compare without case', () => {
    const h = harness();
    h.check();
    h.advance(5 * MIN);
    assert.equal(h.check({ sender: 'A@Origin.TEST', recipient: 'Alice@Example.test' }).reason, 'retried');
  });

  test('an unretried triplet is forgotten after 2 days: a retry then starts over', () => {
    const h = harness();
    h.check();
    h.advance(2 * DAY + MIN);
    assert.deepEqual(h.both(), ['defer', 'new']);
  });

  test('passed triplets and networks are forgotten 35 days after last seen, not while in use', () => {
    const h = harness();
    h.check();
    h.advance(5 * MIN);
    h.check(); // passes: network remembered
    h.advance(30 * DAY);
    assert.equal(h.check().verdict, 'pass'); // refreshes last_seen
    h.advance(30 * DAY);
    assert.equal(h.check().verdict, 'pass');
    h.advance(36 * DAY);
    assert.deepEqual(h.both(), ['defer', 'new']);
  });

  test('a pass rewrites nothing when the row was refreshed within the hour', () => {
    const h = harness();
    h.check();
    h.advance(5 * MIN);
    h.check();
    h.advance(MIN);
    const before = JSON.stringify([...h.store.rows]);
    assert.equal(h.check({ recipient: 'other@example.test' }).save.length, 0);
    assert.equal(JSON.stringify([...h.store.rows]), before);
  });

  test('IPv6 clients are one /64', () => {
    const h = harness();
    h.check({ ip: '2001:db8::1' });
    h.advance(5 * MIN);
    assert.equal(h.check({ ip: '2001:db8::2' }).reason, 'retried');
    assert.equal(h.check({ ip: '2001:db8:0:1::2' }).verdict, 'defer');
  });
});

describe('greylisting over the SQLite store', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('rows survive a restart; the table stays bounded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailroom-grey-'));
    dirs.push(dir);
    let now = Date.UTC(2026, 11, 5);
    let store = openSqliteStore({ dataDir: dir });
    const facts = { ip: '203.0.113.5', sender: 's@x.test', recipient: 'r@example.test' };
    assert.equal(createGreylist(store.policy, S, () => now)(facts).verdict, 'defer');
    await store.close();
    store = openSqliteStore({ dataDir: dir });
    now += 5 * MIN;
    assert.equal(createGreylist(store.policy, S, () => now)(facts).reason, 'retried');
    // A flood of new triplets with a small bound: pruning keeps the table near it.
    const small = { ...S, maxEntries: 50 };
    const check = createGreylist(store.policy, small, () => now);
    for (let i = 0; i < 1100; i++)
      check({ ip: '192.0.2.1', sender: `spam${i}@x.test`, recipient: 'r@example.test' });
    const count = store.policy.greylistRows(
      Array.from({ length: 1100 }, (_, i) => `T 192.0.2.0/24 spam${i}@x.test r@example.test`),
    ).length;
    assert.ok(count <= 50 + 512, `rows kept: ${count}`);
    await store.close();
  });
});
