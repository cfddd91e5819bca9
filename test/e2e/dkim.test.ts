// DKIM as a user sets it up: `mailroom dkim generate` on a running server, publish the printed record, mail submitted leaves signed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { mailauthVerdicts, pythonVerify } from '../helpers/dkim.js';
import { startPeer, type ScriptedPeer } from '../integration/queue-peer.js';

let a: MailroomInstance;
let sink: ScriptedPeer;

before(async () => {
  sink = await startPeer();
  a = await createMailroom({
    hostname: 'mx.a.test',
    extraToml: ['[outbound]', `routes = { "b.test" = "127.0.0.1:${sink.port}" }`].join('\n'),
  });
  a.cli(['domain', 'add', 'a.test']);
  a.cli(['user', 'add', 'alice@a.test', '--password', 'alice-pw']);
  await a.start();
});

after(async () => {
  await a?.cleanup();
  await sink?.close();
});

test('generate while the server runs; the next message to another host is signed and verifies against the printed record', async () => {
  const out = a.cli(['dkim', 'generate', 'a.test', '--selector', 'e2e']);
  const m = /^(e2e\._domainkey\.a\.test) IN TXT "([^"]+)"$/m.exec(out);
  assert.ok(m, out);
  const record = { name: m[1] ?? '', txt: m[2] ?? '' };
  await nodemailer
    .createTransport({
      host: '127.0.0.1',
      port: a.ports.submission,
      auth: { user: 'alice@a.test', pass: 'alice-pw' },
      tls: { rejectUnauthorized: false },
    })
    .sendMail({
      from: 'Alice <alice@a.test>',
      to: 'bob@b.test',
      subject: 'signed',
      text: 'Hello, signed.\n',
    });
  const end = Date.now() + 15_000;
  while (sink.messages.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  const got = sink.messages[0]?.data;
  assert.ok(got, 'the sink got the message');
  assert.deepEqual(await mailauthVerdicts(got, { [record.name]: record.txt }), ['pass d=a.test s=e2e']);
  assert.equal(pythonVerify(got, record), 'pass');
});
