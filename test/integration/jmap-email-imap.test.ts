// Email/query and Email/set over real HTTP, seen by IMAP in the same server: FETCH FLAGS, an IDLE push, a draft byte for byte.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseConfigText } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { RawImap } from '../helpers/imap-raw.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'];
const AUTH = `Basic ${Buffer.from('bob@example.test:bob secret').toString('base64')}`;

let server: RunningServer;
let dir: string;
let base: string;
let imapPort: number;
let accountId: string;
let storeId: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-jmap-imap-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      ...['smtp', 'submission', 'submissions', 'imaps', 'pop3', 'pop3s', 'https', 'metrics'].map(
        (s) => `[${s}]\nlisten = []`,
      ),
      '[imap]\nlisten = ["127.0.0.1:0"]',
      '[http]\nlisten = ["127.0.0.1:0"]',
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  server = await startServer({ config, logger: silentLogger(), shutdownGraceMs: 200 });
  server.store.addDomain('example.test');
  storeId = server.store.addAccount(
    'bob@example.test',
    await hashPassword('bob secret', { params: PARAMS }),
  ).id;
  accountId = `A${storeId}`;
  base = `http://127.0.0.1:${server.addresses.http![0]!.port}`;
  imapPort = server.addresses.imap![0]!.port;
});

after(async () => {
  await server.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

type R = [string, Record<string, unknown>, string];

/** The method responses (typed as at least two: callers destructure what they sent). */
async function jmap(calls: unknown[]): Promise<[R, R, ...R[]]> {
  const res = await fetch(`${base}/jmap/api`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ using: USING, methodCalls: calls }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { methodResponses: [R, R, ...R[]] }).methodResponses;
}

test('Email/set keywords over HTTP: an IDLE session gets FETCH FLAGS, and FETCH FLAGS shows them', async () => {
  const inbox = server.store.mail.findMailbox(storeId, 'INBOX')!;
  const data = Buffer.from('From: a@a.test\r\nSubject: idle me\r\n\r\nhi\r\n');
  await server.store.mail.append(
    inbox.id,
    { kind: 'memory', chunks: [data], size: data.length },
    [],
    new Date(),
  );
  const [[, q]] = await jmap([
    [
      'Email/query',
      { accountId, filter: { inMailbox: server.store.jmap.mailboxObjectId(inbox.id) }, limit: 10 },
      'q',
    ],
  ]);
  const [id] = q.ids as string[];
  assert.ok(id);

  const imap = await RawImap.open(imapPort);
  try {
    assert.equal((await imap.command('LOGIN bob@example.test "bob secret"')).status, 'OK');
    assert.equal((await imap.command('SELECT INBOX')).status, 'OK');
    const tag = imap.nextTag();
    imap.write(`${tag} IDLE\r\n`);
    assert.match(await imap.line(), /^\+ /);
    const [[name, r]] = await jmap([
      [
        'Email/set',
        { accountId, update: { [id]: { 'keywords/$flagged': true, 'keywords/$seen': true } } },
        's',
      ],
    ]);
    assert.deepEqual([name, r.updated], ['Email/set', { [id]: null }]);
    const pushed = await imap.line(2000);
    assert.match(pushed, /^\* 1 FETCH \(FLAGS \((?=[^)]*\\Flagged)(?=[^)]*\\Seen)/);
    imap.write('DONE\r\n');
    assert.equal((await imap.until(tag)).status, 'OK');
    const fetched = await imap.command('FETCH 1 FLAGS');
    assert.match(fetched.lines.join('\n'), /FLAGS \((?=.*\\Flagged)(?=.*\\Seen).*\)/);
  } finally {
    imap.close();
  }
});

test('Email/set create a draft over HTTP: IMAP FETCH BODY[] is the same bytes, RFC822.SIZE the size JMAP reported', async () => {
  const drafts = server.store.mail.findMailbox(storeId, 'Drafts')!;
  const [[name, r], [qname, q]] = await jmap([
    [
      'Email/set',
      {
        accountId,
        create: {
          d: {
            mailboxIds: { [server.store.jmap.mailboxObjectId(drafts.id)]: true },
            keywords: { $draft: true },
            from: [{ name: 'Bob', email: 'bob@example.test' }],
            to: [{ email: 'alice@a.test' }],
            subject: 'Draft ✓',
            textBody: [{ partId: '1', type: 'text/plain' }],
            bodyValues: { '1': { value: 'Hello,\nsee you. ☃' } },
          },
        },
      },
      's',
    ],
    [
      'Email/query',
      {
        accountId,
        filter: { inMailbox: server.store.jmap.mailboxObjectId(drafts.id), hasKeyword: '$draft' },
      },
      'q',
    ],
  ]);
  assert.equal(name, 'Email/set');
  const created = (r.created as Record<string, Record<string, unknown>>).d!;
  assert.equal(qname, 'Email/query');
  assert.deepEqual(q.ids, [created.id]);
  const [email] = server.store.jmap.getEmails(storeId, [created.id as string]);
  const stored = await server.store.readMessage(email!.messageId);

  const imap = await RawImap.open(imapPort);
  try {
    await imap.command('LOGIN bob@example.test "bob secret"');
    await imap.command('SELECT Drafts');
    const f = await imap.command('FETCH 1 (FLAGS RFC822.SIZE BODY.PEEK[])');
    const text = f.lines.join('\n');
    assert.match(text, /\\Draft/);
    assert.match(text, new RegExp(`RFC822\\.SIZE ${created.size as number}\\b`));
    const literal = /BODY\[\] \{(\d+)\}\r\n/.exec(text)!;
    const start = literal.index + literal[0].length;
    const body = Buffer.from(text.slice(start, start + Number(literal[1])), 'latin1');
    assert.deepEqual(body, stored);
    assert.equal(body.length, created.size);
  } finally {
    imap.close();
  }
});
