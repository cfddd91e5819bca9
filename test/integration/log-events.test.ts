// The log lines an admin greps for (issue 11), from a real server: connections, logins and failures, refusals with their command, accepted envelopes, local mailboxes, remote replies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPeer, type ScriptedPeer } from './queue-peer.js';
import {
  lineClient,
  sendMail,
  startObservedServer,
  until,
  type ObservedServer,
} from '../helpers/observed-server.js';

let peer: ScriptedPeer;
let s: ObservedServer;

before(async () => {
  peer = await startPeer({ data: () => '250 2.0.0 Ok: queued as 4XYZ123' });
  s = await startObservedServer(peer.port);
});

after(async () => {
  await s.close();
  await peer.close();
});

const find = (event: string) => s.lines.filter((l) => l.event === event);

test('one MX message and one submitted message, a refused RCPT, a wrong password, an IMAP login', async () => {
  const mx = await lineClient(s.port('smtp'));
  await mx.send('EHLO client.test');
  await mx.send('MAIL FROM:<someone@remote.test>');
  assert.match(await mx.send('RCPT TO:<nobody@example.test>'), /^550 5\.1\.1 /);
  mx.close();
  assert.match(
    await sendMail(s.port('smtp'), {
      from: 'someone@remote.test',
      to: ['bob@example.test'],
      messageId: '<mx-1@remote.test>',
    }),
    /^250 /,
  );
  const auth = { user: 'alice@example.test', pass: 'pw secret 1' };
  assert.match(
    await sendMail(s.port('submission'), { from: 'alice@example.test', to: ['carol@remote.test'], auth }),
    /^250 /,
  );
  const imap = await lineClient(s.port('imap'));
  assert.match(await imap.send('a LOGIN bob@example.test "wrong"'), /^a NO /);
  assert.match(await imap.send('b LOGIN bob@example.test "pw secret 1"'), /^b OK /);
  imap.close();
  await until(() => find('delivery-attempt').length === 1);
  await until(() => find('session-end').length >= 4);

  // Every connection: protocol, IP, TLS.
  const starts = find('session-start');
  assert.ok(starts.some((l) => l.listener === 'smtp' && l.remote === '127.0.0.1' && l.secure === false));
  assert.ok(starts.some((l) => l.protocol === 'imap' && l.remote === '127.0.0.1' && l.secure === false));
  // Every login and failed login: protocol, account, IP.
  const logins = find('login').map(({ protocol, account, ip }) => ({ protocol, account, ip }));
  assert.deepEqual(logins, [
    { protocol: 'smtp', account: 'alice@example.test', ip: '127.0.0.1' },
    { protocol: 'imap', account: 'bob@example.test', ip: '127.0.0.1' },
  ]);
  const failed = find('auth_failed');
  assert.deepEqual(
    failed.map(({ protocol, account, ip }) => ({ protocol, account, ip })),
    [{ protocol: 'imap', account: 'bob@example.test', ip: '127.0.0.1' }],
  );
  // Every reply >= 400 with its command.
  const refusal = find('reply-error').find((l) => l.code === 550);
  assert.ok(refusal);
  assert.equal(refusal.command, 'RCPT TO:<nobody@example.test>');
  assert.equal(refusal.enhanced, '5.1.1');
  assert.equal(refusal.ip, '127.0.0.1');
  // Every accepted message: queue id, Message-ID, envelope, size.
  const accepted = find('message-accepted');
  assert.equal(accepted.length, 2);
  const [first, second] = accepted as [Record<string, unknown>, Record<string, unknown>];
  assert.equal(first.messageId, '<mx-1@remote.test>');
  assert.equal(first.from, 'someone@remote.test');
  assert.deepEqual(first.to, ['bob@example.test']);
  assert.equal(typeof first.size, 'number');
  assert.match(String(first.queueId), /^\w+$/);
  assert.equal(second.account, 'alice@example.test');
  assert.deepEqual(second.to, ['carol@remote.test']);
  // Every local delivery: the mailbox.
  const delivered = find('delivered');
  assert.deepEqual(
    delivered.map(({ queueId, account, mailbox }) => ({ queueId, account, mailbox })),
    [{ queueId: first.queueId, account: 'bob@example.test', mailbox: 'INBOX' }],
  );
  // Every remote attempt: the MX, TLS, the peer's reply with its queued-as id.
  const [attempt] = find('delivery-attempt');
  assert.equal(attempt!.queueId, second.queueId);
  assert.equal(attempt!.remote, '127.0.0.1');
  const [result] = attempt!.results as Record<string, unknown>[];
  assert.equal(result!.to, 'carol@remote.test');
  assert.equal(result!.state, 'delivered');
  assert.equal(result!.tls, false);
  assert.equal(result!.reply, '250 2.0.0 Ok: queued as 4XYZ123');
  // Every line: an ISO time and a level name.
  for (const l of s.lines) {
    assert.match(String(l.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(['debug', 'info', 'warn', 'error'].includes(String(l.level)), String(l.level));
  }
});
