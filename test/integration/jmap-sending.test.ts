// JMAP sending over real HTTP: Identity (RFC 8621 6), EmailSubmission (7) and VacationResponse (8) with its auto-reply.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseConfigText } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const USING = [
  'urn:ietf:params:jmap:core',
  'urn:ietf:params:jmap:submission',
  'urn:ietf:params:jmap:vacationresponse',
];
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const BOB = basic('bob@example.test', 'bob secret');
const CAROL = basic('carol@example.test', 'carol secret');

let server: RunningServer;
let dir: string;
let base: string;
let bob: number;
let carol: number;
let bobId: string;
let carolId: string;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, checked field by field
type Json = Record<string, any>;
type Invocation = [string, Json, string];
/** Up to three calls are destructured by position; the server's answer has one per call (plus follow-ups). */
type Responses = [Invocation, Invocation, Invocation, ...Invocation[]];

async function call(calls: unknown[], auth = BOB): Promise<Responses> {
  const res = await fetch(`${base}/jmap/api`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ using: USING, methodCalls: calls }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { methodResponses: Responses }).methodResponses;
}

/** Puts a message into a mailbox with the store API (Email/set is another helper's) and returns its Email id. */
async function storeEmail(
  account: number,
  mailbox: string,
  text: string,
  flags: string[] = [],
): Promise<string> {
  const box = server.store.getMailbox(account, mailbox)!;
  const bytes = Buffer.from(text.replace(/\n/g, '\r\n'));
  const { uid } = await server.store.mail.append(
    box.id,
    { kind: 'memory', chunks: [bytes], size: bytes.length },
    flags,
    new Date(),
  );
  const row = server.store.mail.listIndex(box.id).find((r) => r.uid === uid)!;
  return server.store.jmap.objectIds(account, [row.messageId])[0]!.emailId;
}

async function inboxTexts(account: number): Promise<string[]> {
  const box = server.store.getMailbox(account, 'INBOX')!;
  return Promise.all(
    server.store
      .listMessages(box.id)
      .map(async (m) => (await server.store.readMessage(m.messageId)).toString()),
  );
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-jmap-send-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      ...['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'https', 'metrics'].map(
        (s) => `[${s}]\nlisten = []`,
      ),
      '[http]\nlisten = ["127.0.0.1:0"]',
      '[limits]\nmax_recipients = 3',
      // Remote domains go to a closed loopback port: attempts defer, so submissions stay "queued".
      '[outbound]\nroutes = { "remote.test" = "127.0.0.1:9", "remote2.test" = "127.0.0.1:9" }',
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  server = await startServer({ config, logger: silentLogger(), shutdownGraceMs: 200 });
  server.store.addDomain('example.test');
  bob = server.store.addAccount('bob@example.test', await hashPassword('bob secret', { params: PARAMS })).id;
  carol = server.store.addAccount(
    'carol@example.test',
    await hashPassword('carol secret', { params: PARAMS }),
  ).id;
  server.store.addAlias('robert@example.test', ['bob@example.test']);
  bobId = `A${bob}`;
  carolId = `A${carol}`;
  base = `http://127.0.0.1:${server.addresses.http![0]!.port}`;
});

after(async () => {
  await server.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('session', () => {
  test('advertises submission (maxDelayedSend 0, submissionExtensions) and vacationresponse for the account', async () => {
    const res = await fetch(`${base}/.well-known/jmap`, { headers: { authorization: BOB } });
    const session = (await res.json()) as {
      accounts: Record<string, { accountCapabilities: Json }>;
      primaryAccounts: Record<string, string>;
    };
    const caps = session.accounts[bobId]!.accountCapabilities;
    assert.equal(caps['urn:ietf:params:jmap:submission'].maxDelayedSend, 0);
    assert.ok('DSN' in caps['urn:ietf:params:jmap:submission'].submissionExtensions);
    assert.deepEqual(caps['urn:ietf:params:jmap:vacationresponse'], {});
    assert.equal(session.primaryAccounts['urn:ietf:params:jmap:submission'], bobId);
  });
});

describe('Identity', () => {
  test('Identity/get: the account address and its alias, not deletable', async () => {
    const [[name, r]] = (await call([['Identity/get', { accountId: bobId, ids: null }, '0']])) as Responses;
    assert.equal(name, 'Identity/get');
    assert.deepEqual(
      r.list.map((i: { email: string; mayDelete: boolean }) => [i.email, i.mayDelete]),
      [
        ['bob@example.test', false],
        ['robert@example.test', false],
      ],
    );
    assert.match(r.state, /^\d+$/);
  });

  test('Identity/set: create (forbiddenFrom for another user), update, destroy; Identity/changes sees them', async () => {
    const [[, got]] = await call([
      ['Identity/get', { accountId: bobId, ids: null, properties: ['email'] }, '0'],
    ]);
    const since = got.state as string;
    const [[, set]] = await call([
      [
        'Identity/set',
        {
          accountId: bobId,
          create: {
            tag: { email: 'bob+lists@example.test', name: 'Bob (lists)', textSignature: '-- \nBob' },
            theft: { email: 'carol@example.test' },
            remote: { email: 'bob@elsewhere.test' },
            bad: { email: 'bob@example.test', replyTo: 'nope' },
          },
        },
        '0',
      ],
    ]);
    assert.equal(set.notCreated.theft.type, 'forbiddenFrom');
    assert.equal(set.notCreated.remote.type, 'forbiddenFrom');
    assert.equal(set.notCreated.bad.type, 'invalidProperties');
    assert.deepEqual(set.notCreated.bad.properties, ['replyTo']);
    const newId = set.created.tag.id as string;
    assert.equal(set.created.tag.mayDelete, true);
    const [[, upd], [, get2]] = await call([
      [
        'Identity/set',
        { accountId: bobId, update: { [newId]: { name: 'Bobby', email: 'x@example.test' } } },
        '0',
      ],
      ['Identity/get', { accountId: bobId, ids: [newId, 'Inope'] }, '1'],
    ]);
    assert.equal(upd.notUpdated[newId].type, 'invalidProperties', 'email is immutable');
    assert.equal(get2.list[0].name, 'Bob (lists)');
    assert.deepEqual(get2.notFound, ['Inope']);
    const own = get2.list[0].id as string;
    const [[, own0]] = await call([['Identity/get', { accountId: bobId, ids: null }, '0']]);
    const fixed = own0.list.find((i: { email: string }) => i.email === 'bob@example.test').id as string;
    const [[, del], [, changes]] = await call([
      ['Identity/set', { accountId: bobId, update: { [own]: { name: 'Bobby' } }, destroy: [fixed] }, '0'],
      ['Identity/changes', { accountId: bobId, sinceState: since }, '1'],
    ]);
    assert.deepEqual(del.updated, { [own]: null });
    assert.equal(del.notDestroyed[fixed].type, 'forbidden');
    assert.deepEqual(changes.created, [newId]);
    const [[, gone]] = await call([
      ['Identity/set', { accountId: bobId, destroy: [newId], ifInState: '1' }, '0'],
    ]);
    assert.equal(gone.type, 'stateMismatch');
    const [[, gone2]] = await call([['Identity/set', { accountId: bobId, destroy: [newId] }, '0']]);
    assert.deepEqual(gone2.destroyed, [newId]);
  });

  test('an alias added by the admin becomes an identity; another account cannot read bob\u2019s', async () => {
    server.store.addAlias('bobby@example.test', ['bob@example.test']);
    const [[, r]] = await call([['Identity/get', { accountId: bobId, ids: null }, '0']]);
    assert.ok(r.list.some((i: { email: string }) => i.email === 'bobby@example.test'));
    server.store.removeAlias('bobby@example.test');
    const [[, r2]] = await call([['Identity/get', { accountId: bobId, ids: null }, '0']]);
    assert.ok(!r2.list.some((i: { email: string }) => i.email === 'bobby@example.test'));
    const [[name, e]] = await call([['Identity/get', { accountId: bobId, ids: null }, '0']], CAROL);
    assert.equal(name, 'error');
    assert.equal(e.type, 'accountNotFound');
  });
});

async function identityOf(account: string, auth: string, email: string): Promise<string> {
  const [[, r]] = await call([['Identity/get', { accountId: account, ids: null }, '0']], auth);
  return r.list.find((i: { email: string }) => i.email === email).id as string;
}

describe('EmailSubmission', () => {
  test('RFC 8621 7.5 example shape: send a draft to a local and a remote recipient, Bcc stripped, $draft cleared by onSuccessUpdateEmail', async () => {
    const draft = await storeEmail(
      bob,
      'Drafts',
      'From: Bob <bob@example.test>\nTo: carol@example.test\nCc: someone@remote.test\nBcc: hidden@remote2.test\nSubject: lunch\n\nAt noon?\n',
      ['\\Draft'],
    );
    const identityId = await identityOf(bobId, BOB, 'bob@example.test');
    const responses = await call([
      [
        'EmailSubmission/set',
        {
          accountId: bobId,
          create: { k1490: { identityId, emailId: draft } },
          onSuccessUpdateEmail: { '#k1490': { 'keywords/$draft': null, 'keywords/$seen': true } },
        },
        '0',
      ],
      // A creation id in ids (RFC 8620 5.1 / 3.3: "#k1490" names the submission created above).
      ['EmailSubmission/get', { accountId: bobId, ids: ['#k1490'] }, '1'],
    ]);
    assert.deepEqual(
      responses.map((r) => r[0]),
      ['EmailSubmission/set', 'Email/set', 'EmailSubmission/get'],
      JSON.stringify(responses),
    );
    assert.deepEqual(
      responses.map((r) => r[0]),
      ['EmailSubmission/set', 'Email/set', 'EmailSubmission/get'],
    );
    const [[, set], [, emailSet], [, got]] = responses;
    assert.equal(set.created.k1490.undoStatus, 'final');
    assert.deepEqual(emailSet.updated, { [draft]: null });
    const [email] = server.store.jmap.getEmails(bob, [draft]);
    assert.deepEqual(email!.keywords, ['$seen']);
    const sub = got.list[0];
    assert.equal(sub.emailId, draft);
    assert.equal(sub.threadId, email!.threadId);
    assert.deepEqual(
      sub.envelope.rcptTo.map((r: { email: string }) => r.email),
      ['carol@example.test', 'someone@remote.test', 'hidden@remote2.test'],
    );
    assert.equal(sub.envelope.mailFrom.email, 'bob@example.test');
    assert.equal(sub.deliveryStatus['carol@example.test'].delivered, 'yes');
    assert.equal(sub.deliveryStatus['someone@remote.test'].delivered, 'queued');
    // Local copies arrived without Bcc and with the Message-ID and Date submission adds (RFC 6409 8).
    const [carolCopy] = await inboxTexts(carol);
    assert.match(
      carolCopy!,
      /^Return-Path: <bob@example\.test>\r\nReceived: by mx\.test \(Mailroom\) with JMAP id /,
    );
    assert.doesNotMatch(carolCopy!, /^Bcc:/im);
    assert.match(carolCopy!, /^Message-ID: <[0-9A-Z]+@mx\.test>\r$/m);
    assert.match(carolCopy!, /^Date: /m);
    // The remote copy waits in the queue with the same envelope.
    const queued = server.store
      .listQueue()
      .find((q) => q.recipients.some((r) => r.address === 'someone@remote.test'));
    assert.equal(queued?.sender, 'bob@example.test');
    assert.equal(queued?.id, sub.id && server.store.sending.getSubmissions(bob, [sub.id])[0]!.queueId);
  });

  test('deliveryStatus follows the queue: a permanent failure is delivered "no" with the SMTP reply, and /changes sees it', async () => {
    const [[, before]] = await call([['EmailSubmission/query', { accountId: bobId }, '0']]);
    assert.ok(before.ids, JSON.stringify(before));
    const id = before.ids[0] as string;
    const record = server.store.sending.getSubmissions(bob, [id])[0]!;
    server.store.queue.recordResults(record.queueId, [
      {
        address: 'someone@remote.test',
        state: 'failed',
        attempts: 1,
        nextAttemptAt: null,
        lastError: '550 5.1.1 no such user',
        attemptAt: new Date(),
        dsn: null,
      },
    ]);
    const [[, changes], [, got]] = await call([
      ['EmailSubmission/changes', { accountId: bobId, sinceState: before.queryState }, '0'],
      ['EmailSubmission/get', { accountId: bobId, ids: [id], properties: ['deliveryStatus'] }, '1'],
    ]);
    assert.deepEqual(changes.updated, [id]);
    assert.deepEqual(got.list[0].deliveryStatus['someone@remote.test'], {
      delivered: 'no',
      smtpReply: '550 5.1.1 no such user',
      displayed: 'unknown',
    });
    const [[, qc]] = await call([
      ['EmailSubmission/queryChanges', { accountId: bobId, sinceQueryState: before.queryState }, '0'],
    ]);
    assert.deepEqual(qc.removed, [id]);
    assert.deepEqual(qc.added, [{ id, index: 0 }]);
  });

  test('SetErrors: forbiddenFrom, forbiddenMailFrom, noRecipients, invalidRecipients, tooManyRecipients, invalidProperties, invalidEmail', async () => {
    const identityId = await identityOf(bobId, BOB, 'bob@example.test');
    const forged = await storeEmail(
      bob,
      'Drafts',
      'From: carol@example.test\nTo: carol@example.test\nSubject: x\n\nx\n',
    );
    const nobody = await storeEmail(bob, 'Drafts', 'From: bob@example.test\nSubject: x\n\nx\n');
    const unknown = await storeEmail(
      bob,
      'Drafts',
      'From: bob@example.test\nTo: nobody@example.test, "a b"@\nSubject: x\n\nx\n',
    );
    const many = await storeEmail(
      bob,
      'Drafts',
      'From: bob@example.test\nTo: a@r.test, b@r.test, c@r.test, d@r.test\n\nx\n',
    );
    const noFrom = await storeEmail(bob, 'Drafts', 'To: carol@example.test\n\nx\n');
    const ok = await storeEmail(bob, 'Drafts', 'From: robert@example.test\nTo: carol@example.test\n\nx\n');
    const [[, r]] = await call([
      [
        'EmailSubmission/set',
        {
          accountId: bobId,
          create: {
            forged: { identityId, emailId: forged },
            nobody: { identityId, emailId: nobody },
            unknown: { identityId, emailId: unknown },
            many: { identityId, emailId: many },
            noFrom: { identityId, emailId: noFrom },
            mailFrom: {
              identityId,
              emailId: ok,
              envelope: {
                mailFrom: { email: 'carol@example.test' },
                rcptTo: [{ email: 'carol@example.test' }],
              },
            },
            noIdentity: { identityId: 'I999', emailId: ok },
            noEmail: { identityId, emailId: 'Mzzz' },
            late: { identityId, emailId: ok, sendAt: '2030-01-01T00:00:00Z' },
            params: {
              identityId,
              emailId: ok,
              envelope: {
                mailFrom: { email: 'bob@example.test', parameters: { HOLDFOR: '60' } },
                rcptTo: [{ email: 'carol@example.test' }],
              },
            },
          },
        },
        '0',
      ],
    ]);
    const types = Object.fromEntries(
      Object.entries(r.notCreated).map(([k, v]) => [k, (v as { type: string }).type]),
    );
    assert.deepEqual(types, {
      forged: 'forbiddenFrom',
      nobody: 'noRecipients',
      unknown: 'invalidRecipients',
      many: 'tooManyRecipients',
      noFrom: 'invalidEmail',
      mailFrom: 'forbiddenMailFrom',
      noIdentity: 'invalidProperties',
      noEmail: 'invalidProperties',
      late: 'invalidProperties',
      params: 'invalidProperties',
    });
    assert.deepEqual(r.notCreated.unknown.invalidRecipients, ['nobody@example.test', 'a b']);
    assert.equal(r.notCreated.many.maxRecipients, 3);
    assert.equal(r.created, null);
  });

  test('an Email expunged elsewhere between its look-up and its read is "no such Email", not a serverFail', async () => {
    const identityId = await identityOf(bobId, BOB, 'bob@example.test');
    const emailId = await storeEmail(bob, 'Drafts', 'From: bob@example.test\nTo: carol@example.test\n\nx\n');
    const drafts = server.store.getMailbox(bob, 'Drafts')!;
    const uid = server.store.mail.listIndex(drafts.id).at(-1)!.uid;
    // The race made certain: the message's last copy is expunged (and so collected) just before the read.
    const store = server.store as { readMessage(messageId: number): Promise<Buffer> };
    const readMessage = store.readMessage;
    store.readMessage = async function (this: unknown, messageId: number) {
      await server.store.mail.expunge(drafts.id, [uid]);
      return readMessage.call(this, messageId);
    };
    try {
      const [[name, r]] = await call([
        ['EmailSubmission/set', { accountId: bobId, create: { gone: { identityId, emailId } } }, '0'],
      ]);
      assert.equal(name, 'EmailSubmission/set');
      assert.equal(r.notCreated.gone.type, 'invalidProperties');
      assert.deepEqual(r.notCreated.gone.properties, ['emailId']);
    } finally {
      store.readMessage = readMessage;
    }
  });

  test('/set update: undoStatus canceled is cannotUnsend (no delayed send); destroy forgets the submission; query filters and sorts', async () => {
    const [[, q]] = await call([['EmailSubmission/query', { accountId: bobId, calculateTotal: true }, '0']]);
    const id = q.ids[0] as string;
    const [[, u], [, bad], [, filtered]] = await call([
      ['EmailSubmission/set', { accountId: bobId, update: { [id]: { undoStatus: 'canceled' } } }, '0'],
      ['EmailSubmission/query', { accountId: bobId, filter: { nope: 1 } }, '1'],
      ['EmailSubmission/query', { accountId: bobId, filter: { undoStatus: 'pending' } }, '2'],
    ]);
    assert.equal(u.notUpdated[id].type, 'cannotUnsend');
    assert.equal(bad.type, 'unsupportedFilter');
    assert.deepEqual(filtered.ids, []);
    const [[, d], [, after]] = await call([
      ['EmailSubmission/set', { accountId: bobId, destroy: [id] }, '0'],
      ['EmailSubmission/query', { accountId: bobId, calculateTotal: true }, '1'],
    ]);
    assert.deepEqual(d.destroyed, [id]);
    assert.equal(after.total, q.total - 1);
  });
});

describe('VacationResponse', () => {
  test('get: the singleton, disabled; set: create and destroy are singleton errors, bad values invalidProperties', async () => {
    const [[, g], [, s]] = await call([
      ['VacationResponse/get', { accountId: bobId }, '0'],
      [
        'VacationResponse/set',
        {
          accountId: bobId,
          create: { x: {} },
          destroy: ['singleton'],
          update: { singleton: { isEnabled: 'yes', fromDate: '2026-01-01' } },
        },
        '1',
      ],
    ]);
    assert.deepEqual(g.list, [
      {
        id: 'singleton',
        isEnabled: false,
        fromDate: null,
        toDate: null,
        subject: null,
        textBody: null,
        htmlBody: null,
      },
    ]);
    assert.equal(s.notCreated.x.type, 'singleton');
    assert.equal(s.notDestroyed.singleton.type, 'singleton');
    assert.deepEqual(s.notUpdated.singleton.properties, ['isEnabled', 'fromDate']);
  });

  test('enabled: a message to bob gets one auto-reply per sender (RFC 3834), Auto-Submitted, In-Reply-To, null sender', async () => {
    const [[, s]] = await call([
      [
        'VacationResponse/set',
        {
          accountId: bobId,
          update: {
            singleton: { isEnabled: true, textBody: 'Away until Monday.', toDate: '2099-01-01T00:00:00Z' },
          },
        },
        '0',
      ],
    ]);
    assert.deepEqual(s.updated, { singleton: null });
    const carolIdentity = await identityOf(carolId, CAROL, 'carol@example.test');
    const before = (await inboxTexts(carol)).length;
    for (const n of [1, 2]) {
      const emailId = await storeEmail(
        carol,
        'Drafts',
        `From: carol@example.test\nTo: bob@example.test\nSubject: question ${n}\nMessage-ID: <q${n}@example.test>\n\nhi\n`,
      );
      const [[, r]] = await call(
        [
          [
            'EmailSubmission/set',
            { accountId: carolId, create: { a: { identityId: carolIdentity, emailId } } },
            '0',
          ],
        ],
        CAROL,
      );
      assert.ok(r.created?.a, JSON.stringify(r));
    }
    const replies = (await inboxTexts(carol)).slice(before);
    assert.equal(replies.length, 1, 'one reply for two messages from the same sender');
    const reply = replies[0]!;
    assert.match(reply, /^Return-Path: <>\r\n/);
    assert.match(reply, /^Auto-Submitted: auto-replied\r$/m);
    assert.match(reply, /^In-Reply-To: <q1@example\.test>\r$/m);
    assert.match(reply, /^Subject: Re: question 1\r$/m);
    assert.match(reply, /^From: <bob@example\.test>\r$/m);
    assert.ok(reply.includes(Buffer.from('Away until Monday.').toString('base64')));
  });
});
