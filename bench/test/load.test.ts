// Tests the load generator and idle holder against a scripted in-test SMTP responder on port 0.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { runLoad } from '../smtp/load.js';
import { holdIdle } from '../smtp/idle.js';

interface Script {
  pipelining: boolean;
  /** Reply to RCPT for this address. */
  rcpt: (addr: string) => string;
  received: string[]; // bodies seen (dot-unstuffed not needed: the bench never stuffs)
  sessions: number;
}

/** A deliberately small SMTP responder: enough protocol to drive the generator, and it records bodies. */
function responder(script: Script): Promise<{ server: Server; port: number }> {
  const server = createServer((sock: Socket) => {
    script.sessions++;
    let buf = '';
    let inData = false;
    let body = '';
    let ok = false;
    sock.write('220 test ESMTP\r\n');
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      for (;;) {
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            script.received.push(body);
            body = '';
            sock.write('250 2.0.0 stored\r\n');
          } else body += line + '\r\n';
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO')
          sock.write(`250-test\r\n${script.pipelining ? '250-PIPELINING\r\n' : ''}250 SIZE 100000\r\n`);
        else if (verb === 'MAIL') sock.write('250 2.1.0 ok\r\n');
        else if (verb === 'RCPT') {
          const r = script.rcpt(/<(.*)>/.exec(line)?.[1] ?? '');
          ok = r.startsWith('250');
          sock.write(r + '\r\n');
        } else if (verb === 'DATA') {
          if (ok) {
            inData = true;
            sock.write('354 go\r\n');
          } else sock.write('554 5.5.1 no valid recipients\r\n');
        } else if (verb === 'RSET') sock.write('250 ok\r\n');
        else if (verb === 'QUIT') {
          sock.end('221 bye\r\n');
        } else sock.write('500 what\r\n');
      }
    });
    sock.on('error', () => {});
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : 0 });
    }),
  );
}

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function setup(partial: Partial<Script> = {}): Promise<{ port: number; script: Script }> {
  const script: Script = {
    pipelining: true,
    rcpt: () => '250 2.1.5 ok',
    received: [],
    sessions: 0,
    ...partial,
  };
  const { server, port } = await responder(script);
  servers.push(server);
  return { port, script };
}

const base = { host: '127.0.0.1', size: 300, from: 'a@x.test', to: 'b@y.test', deadlineMs: 10_000 };

void describe('runLoad', () => {
  for (const pipelining of [true, false]) {
    void test(`many per connection, pipelining ${pipelining}: every message accepted, once, on few connections`, async () => {
      const { port, script } = await setup({ pipelining });
      const r = await runLoad({ ...base, port, sessions: 4, messages: 41, perConnection: 'many' });
      assert.equal(r.accepted, 41);
      assert.equal(r.rejected + r.errors, 0, r.firstErrors.join('; '));
      assert.equal(script.received.length, 41);
      assert.equal(new Set(script.received).size, 41, 'each message is distinct');
      assert.equal(script.sessions, 4);
      assert.equal(r.latenciesMs.length, 41);
      assert.equal(r.pipelining, pipelining);
      assert.ok(script.received.every((b) => b.endsWith('\r\n') && b.length > 300));
    });
  }
  void test('one per connection opens one connection per message', async () => {
    const { port, script } = await setup();
    const r = await runLoad({ ...base, port, sessions: 3, messages: 10, perConnection: 'one' });
    assert.equal(r.accepted, 10);
    assert.equal(script.sessions, 10);
    assert.equal(r.setupMs.length, 10, 'connection setup timed once per connection');
  });
  void test('rejections are counted, not retried, and the session goes on', async () => {
    let n = 0;
    const { port, script } = await setup({
      rcpt: () => (n++ % 2 === 0 ? '550 5.1.1 no such user' : '250 ok'),
    });
    const r = await runLoad({ ...base, port, sessions: 1, messages: 10, perConnection: 'many' });
    assert.equal(r.accepted, 5);
    assert.equal(r.rejected, 5);
    assert.equal(script.received.length, 5);
    assert.match(r.firstErrors[0] ?? '', /550/);
  });
  void test('a refused connection is an error, not a crash or a hang', async () => {
    const { port, script } = await setup();
    servers.pop()?.close();
    void script;
    await new Promise((r) => setTimeout(r, 50));
    const r = await runLoad({ ...base, port, sessions: 2, messages: 4, perConnection: 'one' });
    assert.equal(r.accepted, 0);
    assert.equal(r.errors, 4);
  });
  void test('the deadline bounds the run', async () => {
    const { port } = await setup();
    let t = 0;
    const r = await runLoad({
      ...base,
      port,
      sessions: 1,
      messages: 1000,
      perConnection: 'many',
      deadlineMs: 5,
      now: () => t++,
    });
    assert.ok(r.stoppedByDeadline);
    assert.ok(r.accepted < 1000);
  });
});

void describe('holdIdle', () => {
  void test('holds N connections after EHLO until closed', async () => {
    const { port, script } = await setup();
    const h = await holdIdle({ host: '127.0.0.1', port, count: 50, concurrency: 10, deadlineMs: 10_000 });
    assert.equal(h.held, 50);
    assert.equal(h.failed, 0);
    assert.equal(script.sessions, 50);
    assert.equal(h.stillOpen(), 50);
    h.close();
  });
});
