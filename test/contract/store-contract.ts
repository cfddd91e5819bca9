// The Store contract suite: every backend runs these same tests (DESIGN habit 8); see sqlite-store.test.ts.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MailroomError } from '../../src/errors.js';
import type { DeliveryRequest, Store, SpooledBody } from '../../src/store/store.js';
import { createBodySpool } from '../../src/store/spool.js';

export interface StoreHarness {
  /** A fresh, empty location (directory, schema, ...) for one test. */
  newLocation(): Promise<string>;
  /** Opens a store on a location; opening twice gives two independent connections (CLI + server). */
  open(location: string, clock: () => Date): Store | Promise<Store>;
  /** Bodies above this size take the backend's large-body path. */
  largeBodyBytes: number;
  cleanup(): Promise<void>;
}

const T0 = new Date('2026-11-23T10:00:00Z');

function rejectsWithCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof MailroomError && err.code === code);
}

export function memoryBody(text: string | Buffer): SpooledBody {
  const b = typeof text === 'string' ? Buffer.from(text) : text;
  // Two chunks, so a backend that keeps only the first one fails.
  const half = Math.floor(b.length / 2);
  return { kind: 'memory', chunks: [b.subarray(0, half), b.subarray(half)], size: b.length };
}

export function request(over: Partial<DeliveryRequest> & { body: SpooledBody }): DeliveryRequest {
  return {
    queueId: over.queueId ?? `Q${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
    envelope: over.envelope ?? { sender: 'alice@remote.example' },
    traceHeaders:
      over.traceHeaders ??
      'Received: from client.example by mx.example.test; Mon, 23 Nov 2026 10:00:00 +0000\r\n',
    body: over.body,
    receivedAt: over.receivedAt ?? T0,
    local: over.local ?? [],
    remote: over.remote ?? [],
  };
}

export function runStoreContract(backend: string, harness: StoreHarness): void {
  void describe(`Store contract: ${backend}`, () => {
    after(() => harness.cleanup());
    let now = T0;
    const clock = (): Date => now;

    async function fresh(): Promise<{ store: Store; location: string }> {
      now = T0;
      const location = await harness.newLocation();
      const store = await harness.open(location, clock);
      after(() => store.close());
      return { store, location };
    }

    async function withUsers(): Promise<{ store: Store; location: string; bob: number; carol: number }> {
      const f = await fresh();
      f.store.addDomain('example.test');
      const bob = f.store.addAccount('bob@example.test', 'hash-b').id;
      const carol = f.store.addAccount('carol@example.test', 'hash-c').id;
      return { ...f, bob, carol };
    }

    void describe('domains', () => {
      void test('add, list, isLocalDomain are case-insensitive and store lower case', async () => {
        const { store } = await fresh();
        store.addDomain('Example.TEST');
        store.addDomain('b.example');
        assert.deepEqual(store.listDomains(), ['b.example', 'example.test']);
        assert.equal(store.isLocalDomain('EXAMPLE.test'), true);
        assert.equal(store.isLocalDomain('example.test.'), true, 'absolute form with trailing dot');
        assert.equal(store.isLocalDomain('other.example'), false);
        assert.equal(store.isLocalDomain(''), false);
      });
      void test('DOMAIN_EXISTS, NO_SUCH_DOMAIN, BAD_DOMAIN', async () => {
        const { store } = await fresh();
        store.addDomain('example.test');
        rejectsWithCode(() => store.addDomain('EXAMPLE.test'), 'DOMAIN_EXISTS');
        rejectsWithCode(() => store.removeDomain('nope.example'), 'NO_SUCH_DOMAIN');
        for (const bad of [
          '',
          'a..b',
          'with space.example',
          'x\u0000y.example',
          '-a.example',
          'a'.repeat(64) + '.ex',
        ])
          rejectsWithCode(() => store.addDomain(bad), 'BAD_DOMAIN');
      });
      void test('removing a domain with accounts or aliases is refused with DOMAIN_IN_USE', async () => {
        const { store } = await fresh();
        store.addDomain('example.test');
        store.addAccount('bob@example.test', 'h');
        rejectsWithCode(() => store.removeDomain('example.test'), 'DOMAIN_IN_USE');
        store.removeAccount('bob@example.test');
        store.addAlias('@example.test', ['x@remote.example']);
        rejectsWithCode(() => store.removeDomain('example.test'), 'DOMAIN_IN_USE');
        store.removeAlias('@example.test');
        store.removeDomain('example.test');
        assert.deepEqual(store.listDomains(), []);
      });
    });

    void describe('accounts', () => {
      void test('addAccount creates INBOX and the SPECIAL-USE folders (RFC 6154), subscribed, UIDNEXT 1', async () => {
        const { store } = await fresh();
        store.addDomain('example.test');
        const a = store.addAccount('Bob@Example.Test', 'hash');
        assert.equal(a.address, 'bob@example.test');
        assert.equal(a.passwordHash, 'hash');
        assert.equal(a.createdAt.getTime(), T0.getTime());
        const boxes = store.listMailboxes(a.id);
        assert.deepEqual(
          boxes.map((b) => [b.name, b.specialUse]),
          [
            ['INBOX', null],
            ['Archive', '\\Archive'],
            ['Drafts', '\\Drafts'],
            ['Junk', '\\Junk'],
            ['Sent', '\\Sent'],
            ['Trash', '\\Trash'],
          ],
        );
        for (const b of boxes) {
          assert.equal(b.subscribed, true);
          assert.equal(b.uidNext, 1);
          assert.equal(b.messageCount, 0);
          assert.equal(b.accountId, a.id);
          assert.ok(b.uidValidity >= Math.floor(T0.getTime() / 1000), 'UIDVALIDITY from the clock');
        }
        assert.equal(new Set(boxes.map((b) => b.uidValidity)).size, boxes.length, 'UIDVALIDITY unique');
        assert.equal(
          store.getMailbox(a.id, 'inbox')?.name,
          'INBOX',
          'INBOX is case-insensitive (RFC 9051 5.1)',
        );
        assert.equal(store.getMailbox(a.id, 'sent'), null, 'other names are case-sensitive');
        assert.equal(store.getMailbox(a.id, 'Sent')?.specialUse, '\\Sent');
      });
      void test('get, list, setPasswordHash, remove; codes ACCOUNT_EXISTS, DOMAIN_NOT_LOCAL, NO_SUCH_ACCOUNT, BAD_ADDRESS', async () => {
        const { store, bob } = await withUsers();
        assert.equal(store.getAccount('BOB@example.test')?.id, bob);
        assert.equal(store.getAccountById(bob)?.address, 'bob@example.test');
        assert.equal(store.getAccount('nobody@example.test'), null);
        assert.equal(store.getAccount('not an address'), null);
        assert.equal(store.getAccountById(987654), null);
        assert.deepEqual(
          store.listAccounts().map((a) => a.address),
          ['bob@example.test', 'carol@example.test'],
        );
        rejectsWithCode(() => store.addAccount('bob@EXAMPLE.test', 'h'), 'ACCOUNT_EXISTS');
        rejectsWithCode(() => store.addAccount('bob@other.example', 'h'), 'DOMAIN_NOT_LOCAL');
        for (const bad of [
          'bob',
          '@example.test',
          'a b@example.test',
          'a<b@example.test',
          'x@',
          '.a@example.test',
        ])
          rejectsWithCode(() => store.addAccount(bad, 'h'), 'BAD_ADDRESS');
        rejectsWithCode(() => store.addAccount('a'.repeat(65) + '@example.test', 'h'), 'BAD_ADDRESS');
        store.setPasswordHash('Bob@example.test', 'new');
        assert.equal(store.getAccount('bob@example.test')?.passwordHash, 'new');
        rejectsWithCode(() => store.setPasswordHash('nobody@example.test', 'x'), 'NO_SUCH_ACCOUNT');
        store.removeAccount('bob@example.test');
        assert.equal(store.getAccount('bob@example.test'), null);
        assert.deepEqual(store.listMailboxes(bob), []);
        rejectsWithCode(() => store.removeAccount('bob@example.test'), 'NO_SUCH_ACCOUNT');
      });
      void test('states: disable, remove keeping the mail, enable; last login; usage per account', async () => {
        const { store, bob, carol } = await withUsers();
        assert.equal(store.getAccount('bob@example.test')?.state, 'active');
        assert.equal(store.getAccount('bob@example.test')?.lastLoginAt, null);
        store.setAccountState('BOB@example.test', 'disabled');
        assert.equal(store.getAccount('bob@example.test')?.state, 'disabled');
        assert.equal(store.getAccountById(bob)?.state, 'disabled');
        store.setAccountState('bob@example.test', 'removed');
        assert.equal(store.listAccounts().find((a) => a.id === bob)?.state, 'removed');
        assert.equal(store.listMailboxes(bob).length, 6, 'mailboxes kept');
        // The address stays taken while the mail is kept.
        rejectsWithCode(() => store.addAccount('bob@example.test', 'h'), 'ACCOUNT_EXISTS');
        store.setAccountState('bob@example.test', 'active');
        assert.equal(store.getAccount('bob@example.test')?.state, 'active');
        rejectsWithCode(() => store.setAccountState('nobody@example.test', 'disabled'), 'NO_SUCH_ACCOUNT');
        store.recordLogin(bob, new Date(T0.getTime() + 60_000));
        assert.equal(store.getAccount('bob@example.test')?.lastLoginAt?.getTime(), T0.getTime() + 60_000);
        await store.deliver(
          request({ body: memoryBody('Subject: a\r\n\r\nhello\r\n'), local: [{ accountId: bob }] }),
        );
        await store.deliver(
          request({ body: memoryBody('x\r\n'), local: [{ accountId: bob }, { accountId: carol }] }),
        );
        const usage = new Map(store.accountUsage().map((u) => [u.accountId, u]));
        const inbox = (id: number) => store.listMessages(store.getMailbox(id, 'INBOX')!.id);
        const sum = (id: number) => inbox(id).reduce((n, m) => n + m.size, 0);
        const none = { limitBytes: null, limitMessages: null }; // no quota set (store/quota.ts)
        assert.deepEqual(usage.get(bob), { accountId: bob, bytes: sum(bob), messages: 2, ...none });
        assert.deepEqual(usage.get(carol), { accountId: carol, bytes: sum(carol), messages: 1, ...none });
        assert.ok(sum(bob) > sum(carol) && sum(carol) > 0);
      });
      void test('a re-created mailbox name never gets an old UIDVALIDITY, even at the same clock second', async () => {
        const { store } = await fresh();
        store.addDomain('example.test');
        const first = store.addAccount('bob@example.test', 'h');
        const old = store.getMailbox(first.id, 'INBOX')?.uidValidity ?? 0;
        store.removeAccount('bob@example.test');
        const again = store.addAccount('bob@example.test', 'h');
        assert.notEqual(again.id, first.id, 'ids are not reused');
        const renewed = store.getMailbox(again.id, 'INBOX')?.uidValidity ?? 0;
        assert.ok(renewed > old, `${renewed} > ${old}`);
        now = new Date(T0.getTime() - 3600_000); // the clock stepped back
        store.removeAccount('bob@example.test');
        const third = store.addAccount('bob@example.test', 'h');
        assert.ok((store.getMailbox(third.id, 'INBOX')?.uidValidity ?? 0) > renewed);
      });
    });

    void describe('aliases', () => {
      void test('several targets in order, catch-all, replace, list, remove; NO_SUCH_ALIAS, DOMAIN_NOT_LOCAL', async () => {
        const { store } = await withUsers();
        store.addAlias('Team@Example.test', ['bob@example.test', 'X@Remote.example', 'carol@example.test']);
        assert.deepEqual(store.getAlias('team@example.test'), {
          source: 'team@example.test',
          targets: ['bob@example.test', 'x@remote.example', 'carol@example.test'],
        });
        store.addAlias('@example.test', ['bob@example.test']);
        assert.deepEqual(store.getAlias('@EXAMPLE.test')?.targets, ['bob@example.test']);
        store.addAlias('team@example.test', ['carol@example.test', 'dan@remote.example']);
        assert.deepEqual(
          store.getAlias('team@example.test')?.targets,
          ['bob@example.test', 'x@remote.example', 'carol@example.test', 'dan@remote.example'],
          'added to the existing targets (issue 11: an existing source was silently replaced)',
        );
        store.addAlias('team@example.test', ['carol@example.test'], { replace: true });
        assert.deepEqual(store.getAlias('team@example.test')?.targets, ['carol@example.test'], 'replaced');
        assert.deepEqual(
          store.listAliases().map((a) => a.source),
          ['@example.test', 'team@example.test'],
        );
        assert.equal(store.getAlias('nobody@example.test'), null);
        rejectsWithCode(() => store.addAlias('x@other.example', ['bob@example.test']), 'DOMAIN_NOT_LOCAL');
        rejectsWithCode(() => store.addAlias('x@example.test', []), 'BAD_ADDRESS');
        rejectsWithCode(() => store.addAlias('x@example.test', ['not-an-address']), 'BAD_ADDRESS');
        store.removeAlias('TEAM@example.test');
        assert.equal(store.getAlias('team@example.test'), null);
        rejectsWithCode(() => store.removeAlias('team@example.test'), 'NO_SUCH_ALIAS');
      });
      void test('an alias never shadows an account, nor an account an alias (ACCOUNT_EXISTS, ALIAS_EXISTS)', async () => {
        const { store } = await withUsers();
        // The account would win at delivery and the alias would be dead (issue 11).
        rejectsWithCode(() => store.addAlias('Bob@example.test', ['carol@example.test']), 'ACCOUNT_EXISTS');
        assert.equal(store.getAlias('bob@example.test'), null);
        store.addAlias('sales@example.test', ['bob@example.test']);
        rejectsWithCode(() => store.addAccount('sales@example.test', 'h'), 'ALIAS_EXISTS');
        assert.equal(store.getAccount('sales@example.test'), null);
      });
      void test('loops are refused: A->A, A->B->A, through plus-addressing and catch-alls (ALIAS_LOOP)', async () => {
        const { store } = await withUsers();
        rejectsWithCode(() => store.addAlias('a@example.test', ['A@example.test']), 'ALIAS_LOOP');
        store.addAlias('a@example.test', ['b@example.test']);
        rejectsWithCode(
          () => store.addAlias('b@example.test', ['bob@example.test', 'a@example.test']),
          'ALIAS_LOOP',
        );
        assert.equal(store.getAlias('b@example.test'), null, 'nothing written');
        rejectsWithCode(() => store.addAlias('b@example.test', ['a+tag@example.test']), 'ALIAS_LOOP');
        // b@ is unknown, so it falls to the catch-all, which leads back to a@.
        rejectsWithCode(() => store.addAlias('@example.test', ['a@example.test']), 'ALIAS_LOOP');
        // A catch-all to an unknown address of its own domain comes back to itself.
        rejectsWithCode(() => store.addAlias('@example.test', ['nobody@example.test']), 'ALIAS_LOOP');
        // Adding to an existing alias checks the whole result; --replace may break a loop away.
        store.addAlias('b@example.test', ['carol@example.test']);
        rejectsWithCode(() => store.addAlias('b@example.test', ['a@example.test']), 'ALIAS_LOOP');
        store.addAlias('@example.test', ['bob@example.test']);
        assert.match(
          (() => {
            try {
              store.addAlias('b@example.test', ['a@example.test']);
              return '';
            } catch (err) {
              return (err as Error).message;
            }
          })(),
          /a@example\.test -> b@example\.test|b@example\.test -> a@example\.test/,
          'the error names the chain',
        );
        // Not loops: a chain, two aliases to one account, a remote target.
        store.addAlias('c@example.test', ['b@example.test', 'bob@example.test', 'far@remote.example']);
        assert.deepEqual(store.getAlias('c@example.test')?.targets, [
          'b@example.test',
          'bob@example.test',
          'far@remote.example',
        ]);
      });
    });

    void describe('deliver', () => {
      void test('local copies: one body, UID per mailbox, MODSEQ, Return-Path first, event after commit', async () => {
        const { store, bob, carol } = await withUsers();
        const seen: { accountId: number; uid: number; visible: boolean }[] = [];
        store.events.on('message', (e) => {
          // A subscriber reading at once must already find the row (event is emitted after commit).
          const visible = store.listMessages(e.mailboxId).some((m) => m.uid === e.uid);
          seen.push({ accountId: e.accountId, uid: e.uid, visible });
        });
        const body = 'Subject: hi\r\n\r\nHello\r\n';
        await store.deliver(
          request({ body: memoryBody(body), local: [{ accountId: bob }, { accountId: carol }] }),
        );
        await store.deliver(
          request({ body: memoryBody('Subject: 2\r\n\r\nx\r\n'), local: [{ accountId: bob }] }),
        );
        const inbox = store.getMailbox(bob, 'INBOX');
        assert.ok(inbox);
        assert.equal(inbox.uidNext, 3);
        assert.equal(inbox.messageCount, 2);
        assert.equal(inbox.highestModseq, 2);
        const msgs = store.listMessages(inbox.id);
        assert.deepEqual(
          msgs.map((m) => [m.uid, m.modseq, m.flags]),
          [
            [1, 1, []],
            [2, 2, []],
          ],
        );
        const first = msgs[0];
        assert.ok(first);
        const stored = (await store.readMessage(first.messageId)).toString();
        assert.equal(
          stored,
          'Return-Path: <alice@remote.example>\r\n' +
            'Received: from client.example by mx.example.test; Mon, 23 Nov 2026 10:00:00 +0000\r\n' +
            body,
        );
        assert.equal(first.size, Buffer.byteLength(stored), 'size is the stored size (RFC822.SIZE)');
        assert.equal(first.internalDate.getTime(), T0.getTime());
        const carolMsgs = store.listMessages(store.getMailbox(carol, 'INBOX')?.id ?? -1);
        assert.equal(
          carolMsgs[0]?.messageId,
          first.messageId,
          'the body is stored once and referenced twice',
        );
        assert.deepEqual(seen, [
          { accountId: bob, uid: 1, visible: true },
          { accountId: carol, uid: 1, visible: true },
          { accountId: bob, uid: 2, visible: true },
        ]);
      });

      void test('null sender gives Return-Path: <>; a named mailbox is used, a missing one falls back to INBOX', async () => {
        const { store, bob } = await withUsers();
        await store.deliver(
          request({
            envelope: { sender: '' },
            body: memoryBody('x\r\n'),
            local: [{ accountId: bob, mailbox: 'Junk' }],
          }),
        );
        await store.deliver(
          request({ body: memoryBody('y\r\n'), local: [{ accountId: bob, mailbox: 'No/Such' }] }),
        );
        const junk = store.listMessages(store.getMailbox(bob, 'Junk')?.id ?? -1);
        assert.equal(junk.length, 1);
        assert.match((await store.readMessage(junk[0]?.messageId ?? -1)).toString(), /^Return-Path: <>\r\n/);
        assert.equal(store.getMailbox(bob, 'INBOX')?.messageCount, 1);
      });

      void test('a special-use target (DMARC quarantine) lands in the mailbox with that attribute; none such: INBOX', async () => {
        const { store, bob } = await withUsers();
        await store.deliver(
          request({ body: memoryBody('q\r\n'), local: [{ accountId: bob, specialUse: '\\Junk' }] }),
        );
        await store.deliver(
          request({ body: memoryBody('f\r\n'), local: [{ accountId: bob, specialUse: '\\Flagged' }] }),
        );
        assert.equal(store.getMailbox(bob, 'Junk')?.messageCount, 1);
        assert.equal(store.getMailbox(bob, 'INBOX')?.messageCount, 1);
      });

      void test('remote recipients become one queue entry, pending, due now, without the Return-Path line', async () => {
        const { store, bob } = await withUsers();
        const queued: string[] = [];
        store.events.on('queue', (e) => queued.push(e.queueId));
        const body = 'Subject: out\r\n\r\nbye\r\n';
        const trace = 'Received: by mx.example.test with ESMTPSA id Q1; Mon, 23 Nov 2026 10:00:00 +0000\r\n';
        await store.deliver(
          request({
            queueId: 'Q1',
            traceHeaders: trace,
            envelope: { sender: 'bob@example.test', dsnEnvid: 'env-1', dsnRet: 'HDRS', smtpUtf8: true },
            body: memoryBody(body),
            local: [{ accountId: bob }],
            remote: [
              {
                address: 'x@remote.example',
                orcpt: 'rfc822;X@remote.example',
                notify: ['SUCCESS', 'FAILURE'],
              },
              { address: 'y@remote.example', notify: ['NEVER'] },
            ],
          }),
        );
        assert.deepEqual(queued, ['Q1']);
        const q = store.listQueue();
        assert.equal(q.length, 1);
        const e = q[0];
        assert.ok(e);
        assert.equal(e.id, 'Q1');
        assert.equal(e.sender, 'bob@example.test');
        assert.equal(e.dsnEnvid, 'env-1');
        assert.equal(e.dsnRet, 'HDRS');
        assert.equal(e.createdAt.getTime(), T0.getTime());
        assert.equal(e.size, Buffer.byteLength(trace + body), 'queue copy has no Return-Path');
        assert.deepEqual(e.recipients, [
          {
            address: 'x@remote.example',
            orcpt: 'rfc822;X@remote.example',
            notify: ['SUCCESS', 'FAILURE'],
            state: 'pending',
            attempts: 0,
            nextAttemptAt: T0,
            lastError: null,
          },
          {
            address: 'y@remote.example',
            notify: ['NEVER'],
            state: 'pending',
            attempts: 0,
            nextAttemptAt: T0,
            lastError: null,
          },
        ]);
        assert.equal(store.getMailbox(bob, 'INBOX')?.messageCount, 1, 'and the local copy too');
      });

      void test('concurrent deliveries get distinct consecutive UIDs and MODSEQs', async () => {
        const { store, bob } = await withUsers();
        const N = 60;
        await Promise.all(
          Array.from({ length: N }, (_, i) =>
            store.deliver(
              request({ body: memoryBody(`n: ${i}\r\n\r\n${i}\r\n`), local: [{ accountId: bob }] }),
            ),
          ),
        );
        const msgs = store.listMessages(store.getMailbox(bob, 'INBOX')?.id ?? -1);
        assert.deepEqual(
          msgs.map((m) => m.uid),
          Array.from({ length: N }, (_, i) => i + 1),
        );
        assert.deepEqual(
          msgs.map((m) => m.modseq),
          Array.from({ length: N }, (_, i) => i + 1),
        );
        const bodies = new Set(
          await Promise.all(msgs.map(async (m) => (await store.readMessage(m.messageId)).toString())),
        );
        assert.equal(bodies.size, N, 'every body stored, none mixed up');
      });

      void test('large bodies, in memory or spooled to a file, read back byte for byte', async () => {
        const { store, bob } = await withUsers();
        const big = Buffer.alloc(harness.largeBodyBytes + 12345);
        for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
        const spool = createBodySpool(store.spoolDir, 1024);
        for (let off = 0; off < big.length; off += 10_000) await spool.write(big.subarray(off, off + 10_000));
        const spooled = await spool.finish();
        assert.equal(spooled.kind, 'file');
        await store.deliver(request({ body: spooled, local: [{ accountId: bob }] }));
        await store.deliver(request({ body: memoryBody(big), local: [{ accountId: bob }] }));
        const smallSpool = createBodySpool(store.spoolDir, 4);
        await smallSpool.write(Buffer.from('small but spooled\r\n'));
        await store.deliver(request({ body: await smallSpool.finish(), local: [{ accountId: bob }] }));
        const msgs = store.listMessages(store.getMailbox(bob, 'INBOX')?.id ?? -1);
        assert.equal(msgs.length, 3);
        for (const m of msgs.slice(0, 2)) {
          const data = await store.readMessage(m.messageId);
          const headEnd = data.indexOf('\r\n', data.indexOf('Received:')) + 2;
          assert.ok(data.subarray(headEnd).equals(big), 'body intact');
          assert.equal(m.size, data.length);
        }
        assert.match(
          (await store.readMessage(msgs[2]?.messageId ?? -1)).toString(),
          /small but spooled\r\n$/,
        );
      });

      void test('a delivery to a vanished account fails alone; the others in the same batch commit', async () => {
        const { store, bob, carol } = await withUsers();
        store.removeAccount('carol@example.test');
        const results = await Promise.allSettled([
          store.deliver(request({ body: memoryBody('a\r\n'), local: [{ accountId: bob }] })),
          store.deliver(
            request({ body: memoryBody('b\r\n'), local: [{ accountId: bob }, { accountId: carol }] }),
          ),
          store.deliver(request({ body: memoryBody('c\r\n'), local: [{ accountId: bob }] })),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled'],
        );
        const failed = results[1];
        assert.ok(failed?.status === 'rejected' && failed.reason instanceof MailroomError);
        assert.equal(failed.reason.code, 'NO_SUCH_ACCOUNT');
        const msgs = store.listMessages(store.getMailbox(bob, 'INBOX')?.id ?? -1);
        assert.deepEqual(
          msgs.map((m) => m.uid),
          [1, 2],
          'the failed one left no row and no UID gap',
        );
      });

      void test('readMessage of an unknown id: NO_SUCH_MESSAGE', async () => {
        const { store } = await fresh();
        await assert.rejects(
          store.readMessage(424242),
          (e: unknown) => e instanceof MailroomError && e.code === 'NO_SUCH_MESSAGE',
        );
      });
    });

    void describe('mail: expunge', () => {
      void test('removes the UIDs given, bumps MODSEQ once, records VANISHED, keeps a body another copy uses', async () => {
        const { store, bob, carol } = await withUsers();
        const expunged: { mailboxId: number; uids: number[] }[] = [];
        store.events.on('expunge', (e) => expunged.push({ mailboxId: e.mailboxId, uids: e.uids }));
        await store.deliver(
          request({ body: memoryBody('shared\r\n'), local: [{ accountId: bob }, { accountId: carol }] }),
        );
        for (const n of [2, 3, 4]) {
          await store.deliver(request({ body: memoryBody(`${n}\r\n`), local: [{ accountId: bob }] }));
        }
        const inbox = store.getMailbox(bob, 'INBOX');
        assert.ok(inbox);
        const before = inbox.highestModseq;
        // Unknown UIDs (9) and duplicates are ignored; the result is ascending.
        assert.deepEqual(await store.mail.expunge(inbox.id, [3, 1, 9, 3]), [1, 3]);
        const after = store.getMailbox(bob, 'INBOX');
        assert.equal(after?.highestModseq, before + 1);
        assert.equal(after?.uidNext, 5, 'UIDs are never reused');
        assert.deepEqual(
          store.listMessages(inbox.id).map((m) => m.uid),
          [2, 4],
        );
        assert.deepEqual(expunged, [{ mailboxId: inbox.id, uids: [1, 3] }]);
        // Carol's copy of the shared body is still readable.
        const carolMsg = store.listMessages(store.getMailbox(carol, 'INBOX')?.id ?? -1)[0];
        assert.ok(carolMsg);
        assert.match((await store.readMessage(carolMsg.messageId)).toString(), /shared/);
        assert.deepEqual(
          await store.mail.expunge(inbox.id, [1, 3]),
          [],
          'a second expunge of the same UIDs is a no-op',
        );
        assert.deepEqual(await store.mail.expunge(-1, [1]), [], 'an unknown mailbox removes nothing');
      });
    });

    void describe('mail: openMessage (POP3 RETR streaming)', () => {
      void test('streams the same bytes as readMessage, small and large; early close; NO_SUCH_MESSAGE', async () => {
        const { store, bob } = await withUsers();
        const big = Buffer.alloc(harness.largeBodyBytes * 3 + 777, 'y');
        await store.deliver(request({ body: memoryBody('small\r\n'), local: [{ accountId: bob }] }));
        await store.deliver(request({ body: memoryBody(big), local: [{ accountId: bob }] }));
        const inbox = store.getMailbox(bob, 'INBOX');
        assert.ok(inbox);
        for (const m of store.listMessages(inbox.id)) {
          const opened = await store.mail.openMessage(m.messageId);
          const parts: Buffer[] = [];
          for await (const chunk of opened.chunks) parts.push(Buffer.from(chunk));
          const whole = await store.readMessage(m.messageId);
          assert.equal(opened.size, m.size);
          assert.ok(Buffer.concat(parts).equals(whole), `message ${m.uid} streams as stored`);
          await opened.close(); // idempotent after the end
        }
        const last = store.listMessages(inbox.id).at(-1);
        assert.ok(last);
        const early = await store.mail.openMessage(last.messageId);
        for await (const chunk of early.chunks) {
          assert.ok(chunk.length > 0);
          break; // stopping early closes the file
        }
        await early.close();
        // An open message stays readable to the end even if it is expunged meanwhile (POSIX unlink).
        const during = await store.mail.openMessage(last.messageId);
        await store.mail.expunge(inbox.id, [last.uid]);
        let total = 0;
        for await (const chunk of during.chunks) total += chunk.length;
        assert.equal(total, last.size);
        await assert.rejects(
          store.mail.openMessage(last.messageId),
          (e: unknown) => e instanceof MailroomError && e.code === 'NO_SUCH_MESSAGE',
        );
      });
    });

    void describe('two instances on one location (admin CLI + server)', () => {
      void test('each sees the other’s changes at once', async () => {
        const { store: server, location } = await fresh();
        const cli = await harness.open(location, clock);
        after(() => cli.close());
        cli.addDomain('example.test');
        assert.equal(server.isLocalDomain('example.test'), true);
        const bob = cli.addAccount('bob@example.test', 'h1');
        assert.equal(server.getAccount('bob@example.test')?.passwordHash, 'h1');
        cli.setPasswordHash('bob@example.test', 'h2');
        assert.equal(server.getAccount('bob@example.test')?.passwordHash, 'h2');
        cli.addAlias('team@example.test', ['bob@example.test']);
        assert.deepEqual(server.getAlias('team@example.test')?.targets, ['bob@example.test']);
        await server.deliver(request({ body: memoryBody('x\r\n'), local: [{ accountId: bob.id }] }));
        assert.equal(cli.getMailbox(bob.id, 'INBOX')?.messageCount, 1);
        // Both write concurrently: counters stay exact.
        await Promise.all([
          server.deliver(request({ body: memoryBody('s\r\n'), local: [{ accountId: bob.id }] })),
          cli.deliver(request({ body: memoryBody('c\r\n'), local: [{ accountId: bob.id }] })),
        ]);
        assert.deepEqual(
          server.listMessages(server.getMailbox(bob.id, 'INBOX')?.id ?? -1).map((m) => m.uid),
          [1, 2, 3],
        );
        cli.removeAccount('bob@example.test');
        assert.equal(server.getAccount('bob@example.test'), null);
      });
    });

    void describe('close', () => {
      void test('waits for deliveries in flight; deliver after close is refused with STORE_CLOSED', async () => {
        const { store: s, bob, location } = await withUsers();
        const pending = Array.from({ length: 5 }, (_, i) =>
          s.deliver(request({ body: memoryBody(`${i}\r\n`), local: [{ accountId: bob }] })),
        );
        await s.close();
        await Promise.all(pending);
        await assert.rejects(
          s.deliver(request({ body: memoryBody('late\r\n'), local: [{ accountId: bob }] })),
          (e: unknown) => e instanceof MailroomError && e.code === 'STORE_CLOSED',
        );
        const reopened = await harness.open(location, clock);
        after(() => reopened.close());
        assert.equal(reopened.getMailbox(bob, 'INBOX')?.messageCount, 5);
      });
    });
  });
}
