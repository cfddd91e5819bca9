// One store, one truth: a message POP3 deletes (DELE, then QUIT) is destroyed for JMAP: Email/changes
// reports it and Email/get no longer finds it (issue 9's cross-protocol rows).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseConfigText } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'];
const AUTH = `Basic ${Buffer.from('bob@example.test:bob pw').toString('base64')}`;
let server: RunningServer;
let dir: string;
let bob: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-jmap-pop3-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      ...['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3s', 'https', 'metrics'].map(
        (s) => `[${s}]\nlisten = []`,
      ),
      '[pop3]\nlisten = ["127.0.0.1:0"]',
      '[http]\nlisten = ["127.0.0.1:0"]',
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  server = await startServer({ config, logger: silentLogger(), shutdownGraceMs: 200 });
  server.store.addDomain('example.test');
  bob = server.store.addAccount('bob@example.test', await hashPassword('bob pw', { params: PARAMS })).id;
});

after(async () => {
  await server.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

async function jmap(calls: unknown[]): Promise<Array<[string, Record<string, unknown>, string]>> {
  const res = await fetch(`http://127.0.0.1:${server.addresses.http![0]!.port}/jmap/api`, {
    method: 'POST',
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ using: USING, methodCalls: calls }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { methodResponses: Array<[string, Record<string, unknown>, string]> })
    .methodResponses;
}

/** A POP3 session that sends each command after the previous reply and returns every reply. */
function pop3(commands: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.addresses.pop3![0]!.port, '127.0.0.1');
    const replies: string[] = [];
    let buffer = '';
    socket.on('data', (d: Buffer) => {
      buffer += d.toString('latin1');
      for (let nl = buffer.indexOf('\r\n'); nl >= 0; nl = buffer.indexOf('\r\n')) {
        replies.push(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 2);
        const next = commands[replies.length - 1];
        if (next !== undefined) socket.write(`${next}\r\n`);
      }
    });
    socket.on('close', () => resolve(replies));
    socket.on('error', reject);
  });
}

test('POP3 DELE + QUIT: Email/changes lists the Email as destroyed and Email/get no longer finds it', async () => {
  for (const n of [1, 2]) {
    const body = `Subject: m${n}\r\n\r\nbody ${n}\r\n`;
    await server.store.deliver({
      queueId: `QPOP${n}`,
      envelope: { sender: 'a@remote.example' },
      traceHeaders: '',
      body: { kind: 'memory', chunks: [Buffer.from(body)], size: body.length },
      receivedAt: new Date(),
      local: [{ accountId: bob }],
      remote: [],
    });
  }
  const accountId = `A${bob}`;
  const answers = await jmap([
    ['Email/query', { accountId }, 'q'],
    [
      'Email/get',
      { accountId, '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' }, properties: ['subject'] },
      'g',
    ],
  ]);
  const before = answers[1]![1] as { state: string; list: { id: string; subject: string }[] };
  assert.equal(before.list?.length, 2, JSON.stringify(before));
  const first = before.list.find((e) => e.subject === 'm1')!;

  const replies = await pop3(['USER bob@example.test', 'PASS bob pw', 'DELE 1', 'QUIT']);
  assert.ok(
    replies.every((r) => r.startsWith('+OK')),
    replies.join('\n'),
  );

  const responses = await jmap([
    ['Email/changes', { accountId, sinceState: before.state }, 'c'],
    ['Email/get', { accountId, ids: [first.id], properties: ['subject'] }, 'g'],
  ]);
  const changes = responses[0]![1] as { destroyed: string[]; created: string[] };
  const get = responses[1]![1] as { notFound: string[] };
  assert.deepEqual(changes.destroyed, [first.id]);
  assert.deepEqual(changes.created, []);
  assert.deepEqual(get.notFound, [first.id]);
});
