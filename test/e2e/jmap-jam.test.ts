// The third-party JMAP client jmap-jam against `mailroom serve`, and JMAP submission across two instances (SMTP relay, DSN, vacation).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { inboxOf } from '../helpers/mailbox.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/*
 * Two instances on loopback: A (a.test, alice) and B (b.test, bob). Each routes the other's domain to the
 * other's SMTP port, so a JMAP submission on A is relayed over SMTP to B, and bob's vacation reply from B
 * comes back to alice on A.
 *
 * jmap-jam only sends "Authorization: Bearer <token>" (it has no Basic option): each user gets an API
 * token from `mailroom token create`, and jam runs unmodified with it.
 */

let a: MailroomInstance;
let b: MailroomInstance;

/*
 * jam's own types come from jmap-rfc-types, which ships .ts sources our compiler options cannot check
 * (TS5097), so the module is imported by a name TypeScript does not resolve and typed here by what the
 * test uses. The calls are jam's, unchanged.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JMAP response objects, checked by assertions
type Json = any;
interface Jam {
  authHeader: string;
  session: Promise<Json>;
  api: Json;
  getPrimaryAccount(): Promise<string | undefined>;
  requestMany(build: (t: Json) => Record<string, Json>): Promise<[Json, unknown]>;
}
interface JamModule {
  JamClient: {
    new (o: { sessionUrl: string; bearerToken: string }): Jam;
    loadSession(url: string, auth: string): Promise<Json>;
  };
}
const JAM = 'jmap-jam';
const { JamClient } = (await import(JAM)) as JamModule;

/** API tokens by address, made with the CLI before the servers start (printed once, on the last line). */
const tokens = new Map<string, string>();
function makeToken(instance: MailroomInstance, address: string): void {
  const out = instance.cli(['token', 'create', address, '--name', 'jmap-jam']).trim().split('\n');
  tokens.set(address, out[out.length - 1]!);
}

function jam(instance: MailroomInstance, user: string): Jam {
  const sessionUrl = `http://127.0.0.1:${instance.ports.http}/.well-known/jmap`;
  return new JamClient({ sessionUrl, bearerToken: tokens.get(user)! });
}

async function until<T>(what: string, f: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A draft in the account's Drafts, through the store as IMAP APPEND would put it (Email/set is not on this branch). */
async function draft(instance: MailroomInstance, address: string, text: string): Promise<string> {
  const store = openSqliteStore({ dataDir: instance.dataDir });
  try {
    const account = store.getAccount(address)!;
    const box = store.getMailbox(account.id, 'Drafts')!;
    const bytes = Buffer.from(text.replace(/\n/g, '\r\n'));
    const { uid } = await store.mail.append(
      box.id,
      { kind: 'memory', chunks: [bytes], size: bytes.length },
      ['\\Draft'],
      new Date(),
    );
    const row = store.mail.listIndex(box.id).find((r) => r.uid === uid)!;
    return store.jmap.objectIds(account.id, [row.messageId])[0]!.emailId;
  } finally {
    await store.close();
  }
}

before(async () => {
  const queue = '[queue]\nretry_intervals = ["1s"]';
  a = await createMailroom({ hostname: 'mx.a.test', enable: ['http'], extraToml: queue });
  b = await createMailroom({ hostname: 'mx.b.test', enable: ['http'], extraToml: queue });
  appendFileSync(a.configPath, `\n[outbound]\nroutes = { "b.test" = "127.0.0.1:${b.ports.smtp}" }\n`);
  appendFileSync(b.configPath, `\n[outbound]\nroutes = { "a.test" = "127.0.0.1:${a.ports.smtp}" }\n`);
  a.cli(['domain', 'add', 'a.test']);
  a.cli(['user', 'add', 'alice@a.test', '--password', 'alice-pw']);
  b.cli(['domain', 'add', 'b.test']);
  b.cli(['user', 'add', 'bob@b.test', '--password', 'bob-password']);
  makeToken(a, 'alice@a.test');
  makeToken(b, 'bob@b.test');
  await Promise.all([a.start(), b.start()]);
});

after(async () => {
  await a?.cleanup();
  await b?.cleanup();
});

describe('jmap-jam', () => {
  test('reads the session and uses Identity, VacationResponse and EmailSubmission: alice on A sends to bob on B over SMTP', async () => {
    const alice = jam(a, 'alice@a.test');
    const session = await alice.session;
    assert.equal(session.username, 'alice@a.test');
    const accountId = session.primaryAccounts['urn:ietf:params:jmap:submission']!;
    assert.ok(accountId);
    const [identities] = await alice.api.Identity.get({ accountId, ids: null });
    assert.deepEqual(
      identities.list.map((i: { email: string }) => i.email),
      ['alice@a.test'],
    );
    const [vacation] = await alice.api.VacationResponse.get({ accountId, ids: null });
    assert.equal(vacation.list[0]!.isEnabled, false);

    const emailId = await draft(
      a,
      'alice@a.test',
      'From: Alice <alice@a.test>\nTo: bob@b.test\nSubject: over JMAP\n\nHello Bob.\n',
    );
    const [set] = await alice.api.EmailSubmission.set({
      accountId,
      create: { s1: { identityId: identities.list[0]!.id, emailId } },
    });
    const submissionId = set.created!.s1!.id;
    const [got] = await alice.api.EmailSubmission.get({ accountId, ids: [submissionId] });
    assert.equal(got.list[0]!.deliveryStatus!['bob@b.test']!.delivered, 'queued');
    const message = await until('bob@b.test has it', async () => (await inboxOf(b, 'bob@b.test'))[0]);
    assert.match(message, /^Subject: over JMAP\r$/m);
    assert.match(message, /^Received: by mx\.a\.test \(Mailroom\) with JMAP id /m);
    assert.match(message, /^Message-ID: <[0-9A-Z]+@mx\.a\.test>\r$/m);
    // The queue's result becomes the submission's deliveryStatus (RFC 8621 7).
    const status = await until('deliveryStatus yes', async () => {
      const [g] = await alice.api.EmailSubmission.get({ accountId, ids: [submissionId] });
      const s = g.list[0]!.deliveryStatus!['bob@b.test']!;
      return s.delivered === 'yes' ? s : null;
    });
    assert.match(status.smtpReply, /^250/);
  });

  test('a recipient B refuses: deliveryStatus "no" with B\u2019s 550, and a DSN in alice\u2019s INBOX on A', async () => {
    const alice = jam(a, 'alice@a.test');
    const accountId = (await alice.session).primaryAccounts['urn:ietf:params:jmap:submission']!;
    const [identities] = await alice.api.Identity.get({ accountId, ids: null });
    const emailId = await draft(
      a,
      'alice@a.test',
      'From: alice@a.test\nTo: nobody@b.test\nSubject: lost\n\nx\n',
    );
    const [set] = await alice.api.EmailSubmission.set({
      accountId,
      create: { s2: { identityId: identities.list[0]!.id, emailId } },
    });
    const submissionId = set.created!.s2!.id;
    const status = await until('deliveryStatus no', async () => {
      const [g] = await alice.api.EmailSubmission.get({ accountId, ids: [submissionId] });
      const s = g.list[0]!.deliveryStatus!['nobody@b.test']!;
      return s.delivered === 'no' ? s : null;
    });
    assert.match(status.smtpReply, /550/);
    const dsn = await until('DSN for alice', async () =>
      (await inboxOf(a, 'alice@a.test')).find((m) => /multipart\/report/i.test(m)),
    );
    assert.match(dsn, /nobody@b\.test/);
  });

  test('bob on B enables his vacation with jmap-jam; alice writes twice over JMAP and gets one auto-reply on A', async () => {
    const bob = jam(b, 'bob@b.test');
    const bobAccount = (await bob.session).primaryAccounts['urn:ietf:params:jmap:vacationresponse']!;
    const [vs] = await bob.api.VacationResponse.set({
      accountId: bobAccount,
      update: { singleton: { isEnabled: true, subject: 'Out of office', textBody: 'Back on Monday.' } },
    });
    assert.deepEqual(vs.updated, { singleton: null });

    const alice = jam(a, 'alice@a.test');
    const accountId = (await alice.session).primaryAccounts['urn:ietf:params:jmap:submission']!;
    const [identities] = await alice.api.Identity.get({ accountId, ids: null });
    const before = (await inboxOf(b, 'bob@b.test')).length;
    for (const n of [1, 2]) {
      const emailId = await draft(
        a,
        'alice@a.test',
        `From: alice@a.test\nTo: bob@b.test\nSubject: question ${n}\nMessage-ID: <vq${n}@a.test>\n\nx\n`,
      );
      await alice.api.EmailSubmission.set({
        accountId,
        create: { v: { identityId: identities.list[0]!.id, emailId } },
      });
    }
    await until('both at B', async () => (await inboxOf(b, 'bob@b.test')).length >= before + 2);
    const reply = await until('the vacation reply at A', async () =>
      (await inboxOf(a, 'alice@a.test')).find((m) => /^From: <bob@b\.test>\r$/m.test(m)),
    );
    assert.match(reply, /^Subject: Out of office\r$/m);
    assert.match(reply, /^Auto-Submitted: auto-replied\r$/m);
    assert.match(reply, /^In-Reply-To: <vq1@a\.test>\r$/m);
    assert.match(reply, /^Return-Path: <>\r$/m);
    // The second message is answered by nobody: B's queue is empty and alice has exactly one reply.
    await until('B queue empty', async () => {
      const store = openSqliteStore({ dataDir: b.dataDir });
      try {
        return store.listQueue().length === 0;
      } finally {
        await store.close();
      }
    });
    const replies = (await inboxOf(a, 'alice@a.test')).filter((m) => /^From: <bob@b\.test>\r$/m.test(m));
    assert.equal(replies.length, 1, replies.join('\n=====\n'));
  });

  test('reads mailboxes, queries and gets Emails by back-reference, sets keywords', async () => {
    const alice = jam(a, 'alice@a.test');
    const accountId = (await alice.getPrimaryAccount())!;
    const [mailboxes] = await alice.api.Mailbox.get({ accountId, ids: null });
    const inbox = mailboxes.list.find((m: { role: string }) => m.role === 'inbox')!;
    const [results] = await alice.requestMany((t) => {
      const query = t.Email.query({
        accountId,
        filter: { inMailbox: inbox.id },
        sort: [{ property: 'receivedAt', isAscending: false }],
        limit: 10,
      });
      const get = t.Email.get({
        accountId,
        ids: query.$ref('/ids'),
        properties: ['subject', 'from', 'keywords'],
      });
      return { query, get };
    });
    assert.ok(results.get.list.length > 0);
    const id = results.get.list[0]!.id;
    const [set] = await alice.api.Email.set({ accountId, update: { [id]: { 'keywords/$seen': true } } });
    assert.deepEqual(set.updated, { [id]: null });
  });
});
