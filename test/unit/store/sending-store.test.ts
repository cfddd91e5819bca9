// SqliteSendingStore (store/sending-store.ts): identity reconciliation, the change log, the vacation period, queue results.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function open(): { store: SqliteStore; bob: number } {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-sending-'));
  dirs.push(dir);
  const store = openSqliteStore({ dataDir: dir });
  after(() => store.close());
  store.addDomain('example.test');
  return { store, bob: store.addAccount('bob@example.test', 'h').id };
}

describe('identities', () => {
  test('automatic identities follow the addresses given; each change is in Identity/changes', () => {
    const { store, bob } = open();
    const s0 = store.jmap.states(bob).Identity;
    const first = store.sending.identities(bob, ['bob@example.test', 'robert@example.test']);
    assert.deepEqual(
      first.map((i) => [i.email, i.auto]),
      [
        ['bob@example.test', true],
        ['robert@example.test', true],
      ],
    );
    // Same addresses: nothing written (no new state).
    const s1 = store.jmap.states(bob).Identity;
    store.sending.identities(bob, ['bob@example.test', 'robert@example.test']);
    assert.equal(store.jmap.states(bob).Identity, s1);
    const again = store.sending.identities(bob, ['bob@example.test']);
    assert.deepEqual(
      again.map((i) => i.id),
      [first[0]!.id],
      'the id of an identity that stays does not change',
    );
    const changes = store.jmap.changes(bob, 'Identity', s0, null);
    assert.ok(changes.ok);
    assert.deepEqual(changes.created, [first[0]!.id]);
    const since1 = store.jmap.changes(bob, 'Identity', s1, null);
    assert.ok(since1.ok);
    assert.deepEqual(since1.destroyed, [first[1]!.id]);
  });

  test('ids of another account are not found', () => {
    const { store, bob } = open();
    const carol = store.addAccount('carol@example.test', 'h').id;
    const [own] = store.sending.identities(bob, ['bob@example.test']);
    assert.equal(store.sending.updateIdentity(carol, own!.id, { name: 'x' }), false);
    assert.equal(store.sending.destroyIdentity(carol, own!.id), false);
    assert.equal(store.sending.destroyIdentity(bob, 'not-an-id'), false);
  });
});

describe('vacation replies (RFC 3834 2: once per sender per period)', () => {
  test('claimed once, again only after the period; switching vacation on again answers everyone anew', () => {
    const { store, bob } = open();
    const t0 = new Date('2026-07-01T00:00:00Z');
    const week = 7 * 86_400_000;
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const claim = (now: Date) =>
      store.sending.claimVacationReply(bob, 'a@r.test', now, new Date(now.getTime() - week));
    assert.equal(claim(t0), true);
    assert.equal(claim(at(1000)), false);
    assert.equal(claim(at(week - 1)), false);
    assert.equal(claim(at(week + 1)), true);
    const on = { ...store.sending.vacation(bob), isEnabled: true };
    store.sending.setVacation(bob, on);
    assert.equal(claim(at(week + 2)), true, 'enabling starts a new absence');
    store.sending.setVacation(bob, { ...on, subject: 'edited' });
    assert.equal(claim(at(week + 3)), false, 'an edit while enabled keeps the record');
  });
});

describe('submissions and the queue', () => {
  test('a queue result becomes the deliveryStatus and an EmailSubmission change; entries of no submission change nothing', () => {
    const { store, bob } = open();
    const sub = store.sending.createSubmission(bob, {
      identityId: 'I1',
      emailId: 'M1',
      threadId: 'T1',
      envelope: { mailFrom: { email: 'bob@example.test', parameters: null }, rcptTo: [] },
      sendAt: new Date(),
      queueId: 'Q1',
      deliveryStatus: { 'x@r.test': { delivered: 'queued', smtpReply: '250 2.0.0 Queued' } },
    });
    const s0 = store.jmap.states(bob).EmailSubmission;
    const update = (queueId: string, state: 'deferred' | 'delivered', lastError: string | null) =>
      store.queue.recordResults(queueId, [
        {
          address: 'x@r.test',
          state,
          attempts: 1,
          nextAttemptAt: null,
          lastError,
          attemptAt: new Date(),
          dsn: null,
        },
      ]);
    update('Q2', 'delivered', null);
    assert.equal(store.jmap.states(bob).EmailSubmission, s0);
    update('Q1', 'deferred', '451 4.3.0 try later');
    assert.deepEqual(store.sending.getSubmissions(bob, [sub.id])[0]!.deliveryStatus, {
      'x@r.test': { delivered: 'queued', smtpReply: '451 4.3.0 try later' },
    });
    update('Q1', 'delivered', null);
    assert.deepEqual(store.sending.getSubmissions(bob, [sub.id])[0]!.deliveryStatus['x@r.test'], {
      delivered: 'yes',
      smtpReply: '250 2.0.0 OK',
    });
    const changes = store.jmap.changes(bob, 'EmailSubmission', s0, null);
    assert.ok(changes.ok);
    assert.deepEqual(changes.updated, [sub.id]);
  });
});
