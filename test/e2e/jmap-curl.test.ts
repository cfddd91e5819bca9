// JMAP against `mailroom serve` with curl (the README's commands), and push: mail sent over SMTP is a StateChange within a second.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';

let server: MailroomInstance;
let http: string;
const USER = 'alice@example.test:a long secret';

before(async () => {
  server = await createMailroom({ enable: ['http', 'https'] });
  server.cli(['domain', 'add', 'example.test']);
  server.cli(['user', 'add', 'alice@example.test', '--password', 'a long secret']);
  await server.start();
  http = `http://127.0.0.1:${server.ports.http}`;
});

after(async () => {
  await server.cleanup();
});

/** Runs curl; returns stdout (bounded in time). */
function curl(args: string[]): string {
  const r = spawnSync('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'utf8', cwd: server.dir });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("the README's curl session: session resource, Core/echo, upload and download, over http and https", () => {
  const session = JSON.parse(curl(['-u', USER, `${http}/.well-known/jmap`])) as {
    accounts: Record<string, { name: string }>;
    apiUrl: string;
    username: string;
  };
  assert.equal(session.username, 'alice@example.test');
  const [accountId] = Object.keys(session.accounts);
  assert.match(accountId!, /^A[0-9]+$/);
  const echo = JSON.parse(
    curl([
      '-u',
      USER,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"hello":true},"c1"]]}',
      session.apiUrl,
    ]),
  ) as { methodResponses: unknown[] };
  assert.deepEqual(echo.methodResponses, [['Core/echo', { hello: true }, 'c1']]);

  writeFileSync(join(server.dir, 'notes.txt'), 'remember the milk\n');
  const blob = JSON.parse(
    curl([
      '-u',
      USER,
      '-H',
      'Content-Type: text/plain',
      '--data-binary',
      '@notes.txt',
      `${http}/jmap/upload/${accountId}/`,
    ]),
  ) as { blobId: string; size: number };
  assert.equal(blob.size, 18);
  assert.equal(
    curl(['-u', USER, `${http}/jmap/download/${accountId}/${blob.blobId}/notes.txt`]),
    'remember the milk\n',
  );

  const overTls = JSON.parse(
    curl(['-k', '-u', USER, `https://127.0.0.1:${server.ports.https}/.well-known/jmap`]),
  ) as {
    apiUrl: string;
  };
  assert.equal(overTls.apiUrl, `https://127.0.0.1:${server.ports.https}/jmap/api`);
  // No credentials: 401 with the challenge.
  const head = curl(['-i', `${http}/.well-known/jmap`]);
  assert.match(head, /^HTTP\/1\.1 401 /);
  assert.match(head, /^WWW-Authenticate: Basic realm="mailroom"/im);
});

test('EventSource: mail delivered over SMTP is a StateChange for Email within a second', async () => {
  const child = spawn('curl', [
    '-sS',
    '-N',
    '--max-time',
    '15',
    '-u',
    USER,
    `${http}/jmap/eventsource/?types=Email&closeafter=state&ping=0`,
  ]);
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  const ended = new Promise<void>((done) => child.once('exit', () => done()));
  await new Promise((r) => setTimeout(r, 300)); // connected and subscribed
  const t0 = Date.now();
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: server.ports.smtp,
    tls: { rejectUnauthorized: false },
  });
  await transport.sendMail({
    from: 'someone@remote.example',
    to: 'alice@example.test',
    subject: 'push',
    text: 'hi',
  });
  await ended; // closeafter=state: the server ends the response after the event
  assert.ok(Date.now() - t0 < 1500, `${Date.now() - t0} ms`);
  assert.match(
    text,
    /^event: state\ndata: \{"@type":"StateChange","changed":\{"A[0-9]+":\{"Email":"[^"]+"\}\}\}\n\n$/,
  );
});
