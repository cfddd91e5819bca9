// `mailroom trace` against a real server (issue 11): one message's timeline from the store (received, checks, stored where, each attempt with the remote reply, the DSN), admin actions logged by the server, [metrics] following a reload.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { parseConfigText } from '../../src/config/load.js';
import { startPeer, type ScriptedPeer } from './queue-peer.js';
import { sendMail, startObservedServer, until, type ObservedServer } from '../helpers/observed-server.js';

let peer: ScriptedPeer;
let s: ObservedServer;
let configPath: string;

before(async () => {
  // carol is taken ("queued as"), gone is refused for good (a DSN goes back to the sender).
  peer = await startPeer({
    rcpt: (address) =>
      address.startsWith('gone@')
        ? '550 5.1.1 no such user here'
        : address.startsWith('later@')
          ? '451 4.3.0 try again later'
          : '250 2.1.5 Ok',
    data: () => '250 2.0.0 Ok: queued as 4XYZ123',
  });
  s = await startObservedServer(peer.port);
  configPath = join(s.dir, 'cli.toml');
  writeFileSync(configPath, `hostname = "mx.test"\ndata_dir = "${s.dir}"\n`);
});

after(async () => {
  await s.close();
  await peer.close();
});

async function cli(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main({
    argv: [...argv, '--config', configPath],
    cwd: s.dir,
    env: { SUDO_USER: 'admin-person' },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    readStdin: () => Promise.resolve(''),
  });
  return { status, stdout, stderr };
}

const find = (event: string) => s.lines.filter((l) => l.event === event);

test('a submitted message to a local, a remote and a refused recipient: its whole timeline by queue id and by Message-ID', async () => {
  const reply = await sendMail(s.port('submission'), {
    from: 'alice@example.test',
    to: ['bob@example.test', 'carol@remote.test', 'gone@remote.test'],
    auth: { user: 'alice@example.test', pass: 'pw secret 1' },
    messageId: '<trace-1@client.test>',
  });
  assert.match(reply, /^250 /);
  const queueId = String(find('message-accepted')[0]!.queueId);
  // The attempt is recorded, then the failure DSN is made and stored for alice.
  await until(() => s.lines.some((l) => l.msg === 'DSN sent'));

  const byId = await cli('trace', queueId);
  assert.equal(byId.status, 0, byId.stderr);
  const text = byId.stdout;
  assert.match(text, new RegExp(`queue id ${queueId}  Message-ID <trace-1@client.test>`));
  assert.match(
    text,
    /received {2}via submission from 127\.0\.0\.1 \(client\.test\) without TLS as alice@example\.test/,
  );
  assert.match(
    text,
    /from <alice@example\.test> to <bob@example\.test>, <carol@remote\.test>, <gone@remote\.test>/,
  );
  assert.match(text, /stored for bob@example\.test in INBOX, UID 1/);
  assert.match(text, /queued for <carol@remote\.test>, <gone@remote\.test>/);
  assert.match(text, /attempt {3}to 127\.0\.0\.1/);
  assert.match(
    text,
    /<carol@remote\.test> delivered \(attempt 1, no TLS\): 250 2\.0\.0 Ok: queued as 4XYZ123/,
  );
  assert.match(text, /<gone@remote\.test> failed \(attempt 1, no TLS\): 550 5\.1\.1 no such user here/);
  assert.match(text, /dsn {7}failed sent to <alice@example\.test> as \w+/);
  // The DSN's own timeline follows: stored for alice.
  assert.match(text, /received {2}via dsn, \d+ bytes[\s\S]*stored for alice@example\.test in INBOX/);

  // The same by Message-ID, with or without the angle brackets, and as JSON.
  const byMessageId = await cli('trace', 'trace-1@client.test');
  assert.equal(byMessageId.stdout, text);
  const json = JSON.parse((await cli('trace', '<trace-1@client.test>', '--json')).stdout) as {
    events: {
      kind: string;
      queue_id: string;
      stored?: { account: string; mailbox: string; uid: number }[];
    }[];
    queued: unknown[];
  };
  assert.deepEqual(
    json.events.map((e) => e.kind),
    ['received', 'attempt', 'dsn', 'received'],
  );
  assert.deepEqual(json.events[0]!.stored, [{ account: 'bob@example.test', mailbox: 'INBOX', uid: 1 }]);
  assert.deepEqual(json.queued, []);

  // Nothing known: exit 1 with one line saying how long steps are kept.
  const none = await cli('trace', '<nothing@nowhere>');
  assert.equal(none.status, 1);
  assert.match(
    none.stderr,
    /no message with queue id or Message-ID <nothing@nowhere> \(steps are kept for 30 day\(s\)/,
  );
});

test('an MX message shows its client; a queue entry removed by the admin shows who did it', async () => {
  assert.match(
    await sendMail(s.port('smtp'), {
      from: 'x@remote.test',
      to: ['bob@example.test'],
      messageId: '<mx-2@remote.test>',
    }),
    /^250 /,
  );
  const mx = await cli('trace', '<mx-2@remote.test>');
  assert.match(mx.stdout, /received {2}via mx from 127\.0\.0\.1 \(client\.test\) without TLS, \d+ bytes/);
  assert.match(mx.stdout, /stored for bob@example\.test in INBOX, UID 2/);

  // A message that waits (the peer is told to defer), then `queue remove` by the admin.
  const deferred = await sendMail(s.port('submission'), {
    from: 'alice@example.test',
    to: ['later@defer.test'],
    auth: { user: 'alice@example.test', pass: 'pw secret 1' },
    messageId: '<trace-3@client.test>',
  });
  assert.match(deferred, /^250 /);
  const accepted = find('message-accepted').find((l) => l.messageId === '<trace-3@client.test>')!;
  const queueId = String(accepted.queueId);
  await until(() => find('delivery-attempt').some((l) => l.queueId === queueId));
  const removed = await cli('queue', 'remove', queueId);
  assert.equal(removed.status, 0, removed.stderr);
  const text = (await cli('trace', queueId)).stdout;
  assert.match(text, /admin {5}queue remove by admin-person/);
  // The server logs the action within a second or so (it polls the store the CLI wrote to).
  await until(() => find('admin-action').some((l) => l.action === 'queue remove'));
  const line = find('admin-action').find((l) => l.action === 'queue remove')!;
  assert.equal(line.target, queueId);
  assert.equal(line.actor, 'admin-person');
});

test('admin commands become admin-action lines without their secrets; read-only ones do not', async () => {
  const before = find('admin-action').length;
  assert.equal((await cli('user', 'add', 'dave@example.test', '--password', 'a long secret pw')).status, 0);
  assert.equal(
    (await cli('alias', 'add', 'team@example.test', 'bob@example.test', 'dave@example.test')).status,
    0,
  );
  assert.equal((await cli('user', 'list')).status, 0);
  assert.equal((await cli('user', 'disable', 'dave@example.test')).status, 0);
  await until(() => find('admin-action').length >= before + 3);
  const lines = find('admin-action').slice(before);
  assert.deepEqual(
    lines.map((l) => [l.action, l.target]),
    [
      ['user add', 'dave@example.test'],
      ['alias add', 'team@example.test'],
      ['user disable', 'dave@example.test'],
    ],
  );
  assert.deepEqual((lines[1]!.detail as { args: string[] }).args, ['bob@example.test', 'dave@example.test']);
  assert.deepEqual((lines[0]!.detail as { options: Record<string, unknown> }).options, {
    password: '(given)',
  });
  assert.ok(!JSON.stringify(s.lines).includes('a long secret pw'), 'the password never reaches the log');
});

test('SIGHUP-style reload moves the [metrics] listener like any other', async () => {
  const oldPort = s.port('metrics');
  assert.equal((await s.get('/healthz')).status, 200);
  const next = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${s.dir}"`,
      // As at start ("port 0" again): unchanged, so these stay bound where they are.
      ...['smtp', 'submission', 'pop3', 'imap'].map((n) => `[${n}]\nlisten = ["127.0.0.1:0"]`),
      '[metrics]\nlisten = ["127.0.0.1:0"]',
      ...['submissions', 'pop3s', 'imaps', 'http', 'https'].map((n) => `[${n}]\nlisten = []`),
      `[outbound]\nroutes = { "*" = "127.0.0.1:${peer.port}" }`,
    ].join('\n'),
    { configPath: null, baseDir: s.dir, defaultHostname: 'x' },
  );
  // A free port of its own, so the move is visible.
  const freePort = await new Promise<number>((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => done(port));
    });
  });
  next.listeners.metrics = [{ host: '127.0.0.1', port: freePort }];
  await s.server.reload(next);
  assert.equal(s.port('metrics'), freePort);
  assert.notEqual(freePort, oldPort);
  assert.equal((await s.get('/healthz')).status, 200);
  // Off by the file: no metrics address any more.
  await s.server.reload({ ...next, listeners: { ...next.listeners, metrics: [] } });
  assert.equal(s.server.addresses.metrics, undefined);
});
