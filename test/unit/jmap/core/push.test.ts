// EventSource pieces (RFC 8620 7.3): the query, event framing, type filtering, and the store's states as push reports them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  filterStates,
  parseEventSourceQuery,
  pingEvent,
  stateEvent,
  storeStates,
} from '../../../../src/jmap/core/push.js';
import { ChangePoller } from '../../../../src/store/change-poller.js';
import { openSqliteStore } from '../../../../src/store/sqlite/sqlite-store.js';
import { deliverText } from '../../../helpers/imap-session.js';

const q = (s: string) => parseEventSourceQuery(new URLSearchParams(s));

test('the eventSourceUrl query: types, closeafter, ping (clamped into 5..600 s)', () => {
  assert.deepEqual(q('types=*&closeafter=no&ping=300'), {
    types: null,
    closeAfterState: false,
    pingSeconds: 300,
  });
  assert.deepEqual(q('types=Email,Mailbox&closeafter=state&ping=0'), {
    types: new Set(['Email', 'Mailbox']),
    closeAfterState: true,
    pingSeconds: 0,
  });
  assert.equal((q('ping=1') as { pingSeconds: number }).pingSeconds, 5);
  assert.equal((q('ping=99999') as { pingSeconds: number }).pingSeconds, 600);
  assert.deepEqual(q(''), { types: null, closeAfterState: false, pingSeconds: 0 });
});

test('a malformed query is an error string', () => {
  for (const bad of [
    'closeafter=maybe',
    'ping=-1',
    'ping=1.5',
    'ping=1e3',
    'types=',
    'types=Email,<script>',
    'types=,',
  ]) {
    assert.equal(typeof q(bad), 'string', bad);
  }
});

test('event framing: "state" with a StateChange (RFC 8620 7.1) and "ping" with the interval', () => {
  assert.equal(
    stateEvent({ a1: { Email: 'd35ecb040aab' } }),
    'event: state\ndata: {"@type":"StateChange","changed":{"a1":{"Email":"d35ecb040aab"}}}\n\n',
  );
  assert.equal(pingEvent(300), 'event: ping\ndata: {"interval":300}\n\n');
});

test('filterStates keeps the asked-for types and drops accounts left empty', () => {
  const changed = { a1: { Email: '1', Mailbox: '2' }, a2: { Thread: '3' } };
  assert.deepEqual(filterStates(changed, null), changed);
  assert.deepEqual(filterStates(changed, new Set(['Email'])), { a1: { Email: '1' } });
  assert.equal(filterStates(changed, new Set(['Identity'])), null);
});

test("push reports the store's own states: what changed per type, EmailDelivery on new mail, another process's changes through the poller", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-push-'));
  const store = openSqliteStore({ dataDir: dir });
  // Another process on the same data directory (the CLI): its commits reach this one only by polling.
  const other = openSqliteStore({ dataDir: dir });
  const timers = { setInterval: () => 1, clearInterval: () => undefined };
  const poller = new ChangePoller(store, 1_000, timers);
  try {
    store.addDomain('example.test');
    const bob = store.addAccount('bob@example.test', 'x').id;
    const carol = store.addAccount('carol@example.test', 'x').id;
    const deferred: (() => void)[] = [];
    const states = storeStates(store, poller, (fn) => deferred.push(fn));
    const settle = () => {
      while (deferred.length > 0) deferred.shift()!();
    };
    const seen: [number, Record<string, string>][] = [];
    states.subscribe((account, changed) => seen.push([account, changed]));
    const release = states.watch(bob);
    const initial = states.current(bob);
    assert.deepEqual(initial, { ...store.jmap.states(bob), EmailDelivery: store.jmap.states(bob).Email });

    await deliverText(store, bob, 'Subject: hi\r\n\r\nhello\r\n');
    const after = store.jmap.states(bob);
    // The same strings /changes takes: a client can pass a pushed state to Email/changes. The commit's
    // `changes` and `message` events are reported as one StateChange.
    assert.deepEqual(seen, []);
    settle();
    assert.deepEqual(seen, [
      [bob, { Email: after.Email, Mailbox: after.Mailbox, Thread: after.Thread, EmailDelivery: after.Email }],
    ]);
    assert.notEqual(after.Email, initial.Email);

    // Nobody watches carol: nothing is reported for her.
    await deliverText(store, carol, 'Subject: hi\r\n\r\nhello\r\n');
    settle();
    assert.equal(seen.length, 1);

    // A change by the other process shows after the next poll, with the types that moved.
    other.mail.createMailbox(bob, 'From the CLI');
    settle();
    assert.equal(seen.length, 1);
    poller.poll();
    settle();
    assert.deepEqual(seen[1], [bob, { Mailbox: other.jmap.states(bob).Mailbox }]);

    release();
    await deliverText(store, bob, 'Subject: again\r\n\r\nhello\r\n');
    settle();
    assert.equal(seen.length, 2);
  } finally {
    poller.close();
    await other.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
