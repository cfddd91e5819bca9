// Email/sanitizedHtml over real HTTP reads the asking account's stored Emails: a delivered message's HTML
// comes back sanitised, another account's Email id is notFound.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseConfigText } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
let server: RunningServer;
let dir: string;
let base: string;
let bob: number;
let carol: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-jmap-html-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      ...['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'https', 'metrics'].map(
        (s) => `[${s}]\nlisten = []`,
      ),
      '[http]\nlisten = ["127.0.0.1:0"]',
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  server = await startServer({ config, logger: silentLogger(), shutdownGraceMs: 200 });
  server.store.addDomain('example.test');
  bob = server.store.addAccount('bob@example.test', await hashPassword('bob pw', { params: PARAMS })).id;
  carol = server.store.addAccount(
    'carol@example.test',
    await hashPassword('carol pw', { params: PARAMS }),
  ).id;
  base = `http://127.0.0.1:${server.addresses.http![0]!.port}`;
});

after(async () => {
  await server.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

test('the HTML of a delivered Email comes back sanitised; an Email of another account is notFound', async () => {
  const body =
    'Subject: html\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n' +
    '<p onclick="steal()">Hello <b>Bob</b></p><script>alert(1)</script><img src="http://127.0.0.1:9/pixel.gif">\r\n';
  await server.store.deliver({
    queueId: 'QHTML1',
    envelope: { sender: 'someone@remote.example' },
    traceHeaders: '',
    body: { kind: 'memory', chunks: [Buffer.from(body)], size: Buffer.byteLength(body) },
    receivedAt: new Date(),
    local: [{ accountId: bob }],
    remote: [],
  });
  const inbox = server.store.getMailbox(bob, 'INBOX')!;
  const [row] = server.store.listMessages(inbox.id);
  const [emailId] = server.store.jmap.objectIds(bob, [row!.messageId]).map((o) => o?.emailId);
  assert.ok(emailId);
  const call = async (auth: string, accountId: number) => {
    const res = await fetch(`${base}/jmap/api`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        using: ['urn:ietf:params:jmap:core', 'urn:mailroom:params:jmap:html'],
        methodCalls: [['Email/sanitizedHtml', { accountId: `A${accountId}`, ids: [emailId] }, '0']],
      }),
    });
    assert.equal(res.status, 200);
    const json = (await res.json()) as { methodResponses: [string, Record<string, unknown>, string][] };
    return json.methodResponses[0]!;
  };
  const [name, args] = await call(basic('bob@example.test', 'bob pw'), bob);
  assert.equal(name, 'Email/sanitizedHtml');
  const list = args.list as { id: string; html: string; blockedRemote: number }[];
  assert.equal(list.length, 1);
  assert.match(list[0]!.html, /Hello <b>Bob<\/b>/);
  assert.doesNotMatch(list[0]!.html, /script|onclick|127\.0\.0\.1:9/);
  assert.equal(list[0]!.blockedRemote, 1);
  const [, other] = await call(basic('carol@example.test', 'carol pw'), carol);
  assert.deepEqual(other.notFound, [emailId]);
  assert.deepEqual(other.list, []);
});
