// MailboxWatch: one emitter listener per event kind for any number of watchers, events only to their mailbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { MailboxWatch } from '../../../src/store/mailbox-watch.js';
import type { StoreEvents } from '../../../src/store/store.js';

const total = (events: EventEmitter<StoreEvents>): number =>
  events.eventNames().reduce((n, e) => n + events.listenerCount(e as keyof StoreEvents), 0);

test('many watchers on one mailbox: three emitter listeners, none after the last stops', () => {
  const events = new EventEmitter<StoreEvents>();
  const watch = new MailboxWatch(events);
  const seen: number[] = [];
  const stops = Array.from({ length: 50 }, (_, i) => watch.watch(7, () => seen.push(i)));
  assert.equal(total(events), 3); // message, expunge, flags
  events.emit('message', { accountId: 1, mailboxId: 7, uid: 1 });
  assert.equal(seen.length, 50);
  for (const stop of stops) stop();
  assert.equal(total(events), 0);
  assert.equal(watch.watchedMailboxes, 0);
});

test('events reach only the watchers of their mailbox; stopping twice is harmless', () => {
  const events = new EventEmitter<StoreEvents>();
  const watch = new MailboxWatch(events);
  const seen: string[] = [];
  const stopA = watch.watch(1, (c) => seen.push(`a${c.mailboxId}`));
  const stopB = watch.watch(2, (c) => seen.push(`b${c.mailboxId}`));
  events.emit('flags', { accountId: 1, mailboxId: 2, uids: [3] });
  events.emit('expunge', { accountId: 1, mailboxId: 1, uids: [3] });
  events.emit('message', { accountId: 1, mailboxId: 9, uid: 1 });
  assert.deepEqual(seen, ['b2', 'a1']);
  stopA();
  stopA();
  assert.equal(total(events), 3);
  stopB();
  assert.equal(total(events), 0);
});

test('a throwing watcher does not keep the others from hearing of the change', () => {
  const events = new EventEmitter<StoreEvents>();
  const watch = new MailboxWatch(events);
  let heard = 0;
  watch.watch(4, () => {
    throw new Error('boom');
  });
  watch.watch(4, () => heard++);
  assert.throws(() => events.emit('message', { accountId: 1, mailboxId: 4, uid: 1 }), /boom/);
  assert.equal(heard, 1);
});

test('account watchers (IMAP NOTIFY) hear every mailbox of their account and name changes, one listener each', () => {
  const events = new EventEmitter<StoreEvents>();
  const watch = new MailboxWatch(events);
  const seen: string[] = [];
  const stops = [1, 1, 2].map((account, i) =>
    watch.watchAccount(account, (c) => seen.push(`${i}:${c.kind}:${c.mailboxId}`)),
  );
  const stopMailbox = watch.watch(5, () => seen.push('mb5'));
  assert.equal(total(events), 4); // message, expunge, flags, mailboxes
  events.emit('message', { accountId: 1, mailboxId: 5, uid: 1 });
  events.emit('mailboxes', { accountId: 2 });
  events.emit('flags', { accountId: 3, mailboxId: 9, uids: [1] });
  assert.deepEqual(seen, ['0:message:5', '1:message:5', 'mb5', '2:mailboxes:null']);
  for (const stop of stops) stop();
  assert.equal(total(events), 3);
  stopMailbox();
  assert.equal(total(events), 0);
});
