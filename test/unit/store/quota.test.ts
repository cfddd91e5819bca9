// Storage quotas in the SQLite store (issue 12): usage kept in the same transaction as every change, checked against a model.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import { checkDataDir } from '../../../src/store/sqlite/backup.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { isOverQuota, parseQuotaSize, quotaVerdict } from '../../../src/store/quota.js';
import { createSmtpServices } from '../../../src/server/serve.js';
import { memoryBody, request } from '../../contract/store-contract.js';

async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mailroom-quota-'));
  after(() => rm(d, { recursive: true, force: true }));
  return d;
}

const TRACE = 'Received: by mx.example.test; Mon, 23 Nov 2026 10:00:00 +0000\r\n';
const SENDER = 'alice@remote.example';
/** What a delivered copy weighs: Return-Path + trace headers + body (sqlite/deliver.ts). */
const deliveredSize = (body: number) => Buffer.byteLength(`Return-Path: <${SENDER}>\r\n${TRACE}`) + body;

async function setup() {
  const store = openSqliteStore({ dataDir: await dataDir(), inlineMaxBytes: 1024 });
  after(() => store.close());
  store.addDomain('example.test');
  const a = store.addAccount('a@example.test', 'h').id;
  const b = store.addAccount('b@example.test', 'h').id;
  const box = (acct: number, name: string) => store.mail.findMailbox(acct, name)!.id;
  store.mail.createMailbox(a, 'X');
  store.mail.createMailbox(b, 'X');
  return { store, a, b, box };
}

function usageOf(store: SqliteStore, accountId: number) {
  const u = store.accountUsage().find((x) => x.accountId === accountId)!;
  return { bytes: u.bytes, messages: u.messages };
}

const body = (n: number) => memoryBody('Subject: q\r\n\r\n' + 'x'.repeat(n));

void describe('quota sizes and verdicts', () => {
  test('SIZE of `user quota`: 2G, 500M, 0 = none; garbage refused', () => {
    assert.equal(parseQuotaSize('2G'), 2 * 1024 ** 3);
    assert.equal(parseQuotaSize('500M'), 500 * 1024 ** 2);
    assert.equal(parseQuotaSize('10k'), 10240);
    assert.equal(parseQuotaSize('1234'), 1234);
    assert.equal(parseQuotaSize('0'), null);
    for (const bad of ['', '-1', '1.5G', 'G', '1X', '99999999999999999999'])
      assert.throws(() => parseQuotaSize(bad), bad);
  });
  test('full when the sum would pass a limit; too-big when the addition alone does', () => {
    const q = { accountId: 1, bytes: 90, messages: 3, limitBytes: 100, limitMessages: 4 };
    assert.equal(quotaVerdict(q, 10, 1), 'ok');
    assert.equal(quotaVerdict(q, 11, 1), 'full');
    assert.equal(quotaVerdict(q, 101, 1), 'too-big');
    assert.equal(quotaVerdict(q, 1, 2), 'full');
    assert.equal(quotaVerdict({ ...q, limitBytes: null, limitMessages: null }, 1e12, 1e6), 'ok');
  });
});

void describe('account usage in the store', () => {
  test('delivery, APPEND, COPY, MOVE, expunge, mailbox delete and rename keep usage exact', async () => {
    const { store, a, box } = await setup();
    await store.deliver(
      request({
        envelope: { sender: SENDER },
        traceHeaders: TRACE,
        body: body(100),
        local: [{ accountId: a }],
      }),
    );
    const one = deliveredSize('Subject: q\r\n\r\n'.length + 100);
    assert.deepEqual(usageOf(store, a), { bytes: one, messages: 1 });
    const appended = await store.mail.append(box(a, 'X'), body(50), [], new Date());
    const two = 'Subject: q\r\n\r\n'.length + 50;
    assert.deepEqual(usageOf(store, a), { bytes: one + two, messages: 2 });
    await store.mail.copy(box(a, 'INBOX'), [1], box(a, 'X'));
    assert.deepEqual(usageOf(store, a), { bytes: 2 * one + two, messages: 3 });
    await store.mail.move(box(a, 'X'), [appended.uid], box(a, 'INBOX'));
    assert.deepEqual(usageOf(store, a), { bytes: 2 * one + two, messages: 3 });
    await store.mail.expunge(box(a, 'INBOX'), [1]);
    assert.deepEqual(usageOf(store, a), { bytes: one + two, messages: 2 });
    store.mail.renameMailbox(a, 'X', 'Y');
    store.mail.renameMailbox(a, 'INBOX', 'Old'); // moves INBOX's rows to a new mailbox (RFC 9051 6.3.6)
    assert.deepEqual(usageOf(store, a), { bytes: one + two, messages: 2 });
    store.mail.deleteMailbox(a, 'Y');
    assert.deepEqual(usageOf(store, a), { bytes: two, messages: 1 });
    assert.deepEqual(store.usageMismatches(), []);
  });

  test('APPEND and COPY over the quota are refused in the transaction; MOVE inside the account is not', async () => {
    const { store, a, box } = await setup();
    store.setQuota('a@example.test', { bytes: 200 });
    await store.mail.append(box(a, 'INBOX'), body(100), [], new Date());
    await assert.rejects(
      store.mail.append(box(a, 'INBOX'), body(100), [], new Date()),
      (e) => isOverQuota(e) && !e.permanent,
    );
    await assert.rejects(
      store.mail.append(box(a, 'INBOX'), body(300), [], new Date()),
      (e) => isOverQuota(e) && e.permanent,
    );
    await assert.rejects(store.mail.copy(box(a, 'INBOX'), [1], box(a, 'X')), isOverQuota);
    await store.mail.move(box(a, 'INBOX'), [1], box(a, 'X'));
    assert.equal(usageOf(store, a).messages, 1);
    store.setQuota('a@example.test', { bytes: null, messages: 1 });
    await assert.rejects(store.mail.append(box(a, 'INBOX'), body(1), [], new Date()), isOverQuota);
    assert.deepEqual(store.usageMismatches(), []);
  });

  test('a delivery to a full account alone is refused whole; with another recipient the full one is queued', async () => {
    const { store, a, b } = await setup();
    store.setQuota('a@example.test', { bytes: 10 });
    const alone = request({
      envelope: { sender: SENDER },
      traceHeaders: TRACE,
      body: body(100),
      local: [{ accountId: a }],
    });
    await assert.rejects(store.deliver(alone), (e) => isOverQuota(e) && e.permanent);
    assert.deepEqual(store.listQueue(), []);
    const both = request({
      envelope: { sender: SENDER },
      traceHeaders: TRACE,
      body: body(5),
      local: [{ accountId: a }, { accountId: b }],
    });
    await store.deliver(both);
    assert.equal(usageOf(store, b).messages, 1);
    assert.equal(usageOf(store, a).messages, 0);
    const queued = store.listQueue();
    assert.deepEqual(
      queued.map((q) => q.recipients.map((r) => r.address)),
      [['a@example.test']],
    );
    // A DSN (overQuota 'queue') to the full account alone: queued whole, no message row left without a mailbox.
    const dsn = request({
      envelope: { sender: '' },
      traceHeaders: TRACE,
      body: body(5),
      local: [{ accountId: a }],
    });
    await store.deliver({ ...dsn, overQuota: 'queue' });
    assert.equal(store.listQueue().length, 2);
    const db = new Database(join(store.spoolDir, '..', 'mailroom.db'), { readonly: true });
    const orphans = db
      .prepare(
        'SELECT COUNT(*) AS n FROM messages m WHERE NOT EXISTS (SELECT 1 FROM mailbox_messages mm WHERE mm.message_id = m.id)',
      )
      .get() as { n: number };
    db.close();
    assert.equal(orphans.n, 0);
    assert.deepEqual(store.usageMismatches(), []);
  });

  test('property: random deliver/append/copy/move/expunge/delete sequences keep usage = model = recount, and the quota decides as the model does', async () => {
    type Op =
      | { op: 'deliver'; to: number[]; n: number }
      | { op: 'append'; acct: number; box: number; n: number }
      | { op: 'copy' | 'move'; acct: number; from: number; pick: number }
      | { op: 'expunge'; acct: number; box: number; pick: number }
      | { op: 'dropX'; acct: number }
      | { op: 'quota'; acct: number; bytes: number | null };
    const acct = fc.integer({ min: 0, max: 1 });
    const box = fc.integer({ min: 0, max: 1 });
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        op: fc.constant('deliver' as const),
        to: fc.uniqueArray(acct, { minLength: 1, maxLength: 2 }),
        n: fc.nat(300),
      }),
      fc.record({ op: fc.constant('append' as const), acct, box, n: fc.nat(300) }),
      fc.record({ op: fc.constantFrom('copy' as const, 'move' as const), acct, from: box, pick: fc.nat(20) }),
      fc.record({ op: fc.constant('expunge' as const), acct, box, pick: fc.nat(20) }),
      fc.record({ op: fc.constant('dropX' as const), acct }),
      fc.record({
        op: fc.constant('quota' as const),
        acct,
        bytes: fc.option(fc.integer({ min: 100, max: 1500 })),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 8, maxLength: 18 }), async (ops) => {
        const { store, a, b } = await setup();
        const ids = [a, b];
        const addr = ['a@example.test', 'b@example.test'];
        // The model: per account, per mailbox name, uid -> size; and the quota.
        const model = ids.map(
          () =>
            new Map<string, Map<number, number>>([
              ['INBOX', new Map()],
              ['X', new Map()],
            ]),
        );
        const limit: (number | null)[] = [null, null];
        const used = (i: number) =>
          [...model[i]!.values()].reduce((s, m) => s + [...m.values()].reduce((x, y) => x + y, 0), 0);
        const fits = (i: number, bytes: number) => limit[i] === null || used(i) + bytes <= limit[i]!;
        const names = ['INBOX', 'X'];
        const boxId = (i: number, name: string) => store.mail.findMailbox(ids[i]!, name)?.id;
        const ensureX = (i: number) => {
          if (!model[i]!.has('X')) {
            store.mail.createMailbox(ids[i]!, 'X');
            model[i]!.set('X', new Map());
          }
        };
        const newest = (i: number, name: string) => store.listMessages(boxId(i, name)!).at(-1)!;
        for (const o of ops) {
          if (o.op === 'quota') {
            store.setQuota(addr[o.acct]!, { bytes: o.bytes });
            limit[o.acct] = o.bytes;
          } else if (o.op === 'deliver') {
            const size = deliveredSize('Subject: q\r\n\r\n'.length + o.n);
            const ok = o.to.filter((i) => fits(i, size));
            const p = store.deliver(
              request({
                envelope: { sender: SENDER },
                traceHeaders: TRACE,
                body: body(o.n),
                local: o.to.map((i) => ({ accountId: ids[i]! })),
              }),
            );
            if (ok.length === 0) await assert.rejects(p, isOverQuota);
            else await p;
            for (const i of ok) model[i]!.get('INBOX')!.set(newest(i, 'INBOX').uid, size);
          } else if (o.op === 'append') {
            ensureX(o.acct);
            const name = names[o.box]!;
            const size = 'Subject: q\r\n\r\n'.length + o.n;
            const p = store.mail.append(boxId(o.acct, name)!, body(o.n), [], new Date());
            if (fits(o.acct, size)) model[o.acct]!.get(name)!.set((await p).uid, size);
            else await assert.rejects(p, isOverQuota);
          } else if (o.op === 'copy' || o.op === 'move') {
            ensureX(o.acct);
            const from = names[o.from]!;
            const to = names[1 - o.from]!;
            const rows = [...model[o.acct]!.get(from)!.entries()];
            if (rows.length === 0) continue;
            const [uid, size] = rows[o.pick % rows.length]!;
            const call =
              o.op === 'copy' ? store.mail.copy.bind(store.mail) : store.mail.move.bind(store.mail);
            const p = call(boxId(o.acct, from)!, [uid], boxId(o.acct, to)!);
            if (o.op === 'copy' && !fits(o.acct, size)) {
              await assert.rejects(p, isOverQuota);
              continue;
            }
            const r = await p;
            model[o.acct]!.get(to)!.set(r.mapping[0]![1], size);
            if (o.op === 'move') model[o.acct]!.get(from)!.delete(uid);
          } else if (o.op === 'expunge') {
            const name = names[o.box]!;
            const rows = [...(model[o.acct]!.get(name)?.keys() ?? [])];
            if (rows.length === 0) continue;
            const uid = rows[o.pick % rows.length]!;
            await store.mail.expunge(boxId(o.acct, name)!, [uid]);
            model[o.acct]!.get(name)!.delete(uid);
          } else if (o.op === 'dropX') {
            if (!model[o.acct]!.has('X')) continue;
            store.mail.deleteMailbox(ids[o.acct]!, 'X');
            model[o.acct]!.delete('X');
          }
          for (const i of [0, 1]) {
            const count = [...model[i]!.values()].reduce((s, m) => s + m.size, 0);
            assert.deepEqual(usageOf(store, ids[i]!), { bytes: used(i), messages: count });
          }
        }
        assert.deepEqual(store.usageMismatches(), []);
        await store.close();
      }),
      { numRuns: 15 },
    );
  });
});

void describe('the integrity check recounts usage', () => {
  test('checkDataDir reports an account whose stored usage disagrees with its mail', async () => {
    const { store, a } = await setup();
    await store.deliver(
      request({
        envelope: { sender: SENDER },
        traceHeaders: TRACE,
        body: body(10),
        local: [{ accountId: a }],
      }),
    );
    const dir = store.spoolDir.replace(/\/spool$/, '');
    assert.deepEqual(checkDataDir(dir).problems, []);
    const db = new Database(join(dir, 'mailroom.db'));
    db.prepare('UPDATE account_usage SET bytes = bytes + 7 WHERE account_id = ?').run(a);
    db.close();
    const problems = checkDataDir(dir).problems;
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^account \d+ usage is \d+ octets \/ 1 messages, a recount gives \d+ \/ 1$/);
  });
});

void describe("SMTP RCPT's early full-mailbox check", () => {
  test('asks no usage of an account without limits, and sees a limit set by this store or another at once', async () => {
    const { store, a } = await setup();
    const services = createSmtpServices({ store, hostname: 'mx.example.test', now: () => new Date() });
    // Every RCPT asked quotaOf (a join of accounts and account_usage) even for an account without a quota.
    let usageReads = 0;
    const quotaOf = store.quotaOf.bind(store);
    store.quotaOf = (id) => {
      usageReads++;
      return quotaOf(id);
    };
    const directory = (store as unknown as { directory: { quotaOf(id: number): unknown } }).directory;
    const directQuotaOf = directory.quotaOf.bind(directory);
    directory.quotaOf = (id) => {
      usageReads++;
      return directQuotaOf(id);
    };
    await store.deliver(
      request({
        envelope: { sender: SENDER },
        traceHeaders: TRACE,
        body: body(10),
        local: [{ accountId: a }],
      }),
    );
    assert.equal(services.mailboxFull?.(a), false);
    assert.equal(services.mailboxFull?.(a), false);
    assert.equal(usageReads, 0);
    store.setQuota('a@example.test', { bytes: null, messages: 1 }); // this store: full with its one message
    assert.equal(services.mailboxFull?.(a), true);
    const other = openSqliteStore({ dataDir: store.spoolDir.replace(/\/spool$/, '') });
    other.setQuota('a@example.test', { bytes: null, messages: 2 }); // another process (the CLI)
    assert.equal(services.mailboxFull?.(a), false);
    other.setQuota('a@example.test', { bytes: null, messages: null });
    await other.close();
    usageReads = 0;
    assert.equal(services.mailboxFull?.(a), false);
    assert.equal(usageReads, 0);
  });
});
