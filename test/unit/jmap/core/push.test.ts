// EventSource pieces (RFC 8620 7.3): the query, event framing, type filtering, and states bumped by store events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import {
  filterStates,
  parseEventSourceQuery,
  pingEvent,
  stateEvent,
  storeEventStates,
} from '../../../../src/jmap/core/push.js';
import type { StoreEvents } from '../../../../src/store/store.js';

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

test('store events bump the states of the types they change, per account', () => {
  const events = new EventEmitter<StoreEvents>();
  const states = storeEventStates(events, 'e');
  const seen: [number, Record<string, string>][] = [];
  const unsubscribe = states.subscribe((account, changed) => seen.push([account, changed]));
  const before = states.current(7);
  assert.equal(before.Email, 'e-0');
  events.emit('flags', { accountId: 7, mailboxId: 1, uids: [1] });
  events.emit('mailboxes', { accountId: 8 });
  assert.deepEqual(seen, [
    [7, { Email: 'e-1', Mailbox: 'e-1' }],
    [8, { Mailbox: 'e-1' }],
  ]);
  assert.equal(states.current(7).Email, 'e-1');
  assert.equal(states.current(7).Thread, 'e-0');
  unsubscribe();
  events.emit('expunge', { accountId: 7, mailboxId: 1, uids: [1] });
  assert.equal(seen.length, 2);
  assert.equal(states.current(7).Email, 'e-2');
});
