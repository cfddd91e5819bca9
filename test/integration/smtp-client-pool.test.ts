// deliverToHosts with a ConnectionPool over real sockets: batches share one connection; a dead idle one is replaced unseen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { deliverToHosts } from '../../src/smtp/client/deliver-hosts.js';
import { ConnectionPool } from '../../src/smtp/client/connection-pool.js';
import type { OutboundMessage } from '../../src/smtp/client/client-commands.js';
import type { RecipientResult } from '../../src/smtp/client/client-types.js';

/** A pipelining SMTP sink; `onRset` may hang up instead of answering (an idle connection the peer dropped). */
async function sink(onRset: (session: number) => 'ok' | 'hang-up' | '421' = () => 'ok') {
  const stats = { sessions: 0, delivered: [] as string[], commands: [] as string[] };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const session = ++stats.sessions;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = '';
    let inData = false;
    let rcpts: string[] = [];
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      let out = '';
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) break;
          buf = buf.slice(end + 5);
          inData = false;
          stats.delivered.push(...rcpts);
          out += '250 2.0.0 ok\r\n';
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) break;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        stats.commands.push(`${session} ${line}`);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') out += '250-sink\r\n250 PIPELINING\r\n';
        else if (verb === 'RSET') {
          const how = onRset(session);
          if (how === 'hang-up') {
            socket.destroy();
            return;
          }
          if (how === '421') {
            socket.end('421 4.4.2 idle too long\r\n');
            return;
          }
          out += '250 ok\r\n';
        } else if (verb === 'MAIL') {
          rcpts = [];
          out += '250 ok\r\n';
        } else if (verb === 'RCPT') {
          rcpts.push(/<(.*)>/.exec(line)?.[1] ?? '');
          out += '250 ok\r\n';
        } else if (verb === 'DATA') {
          inData = true;
          buf = '\r\n' + buf; // the DATA line's CRLF starts the terminator search (RFC 5321 4.1.1.4)
          out += '354 go\r\n';
        } else if (verb === 'QUIT') {
          socket.end(out + '221 bye\r\n');
          return;
        } else out += '502 no\r\n';
      }
      if (out) socket.write(out);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    stats,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const message = (id: string, to: string): OutboundMessage => ({
  id,
  sender: 'a@x.test',
  recipients: [{ address: to }],
  size: 20,
  eightBit: false,
  smtpUtf8: false,
});

async function send(port: number, pool: ConnectionPool, msgs: OutboundMessage[]) {
  const results = new Map<string, RecipientResult[]>();
  await deliverToHosts(
    [{ host: 'sink.test', port, addresses: ['127.0.0.1'], preference: 0, source: 'route' }],
    {
      hostname: 'us.test',
      messages: msgs,
      readBody: async () => Buffer.from('Subject: t\r\n\r\nhello\r\n'),
      onMessageDone: (id, r) => results.set(id, r),
      pool,
    },
  );
  return results;
}

test('two batches to one peer share one connection; the pool QUITs it at close', async () => {
  const peer = await sink();
  const pool = new ConnectionPool();
  const first = await send(peer.port, pool, [message('M1', 'b1@y.test')]);
  assert.equal(pool.size, 1, 'parked after the batch');
  const second = await send(peer.port, pool, [message('M2', 'b2@y.test'), message('M3', 'b3@y.test')]);
  for (const r of [...first.values(), ...second.values()]) assert.equal(r[0]?.outcome, 'delivered');
  assert.equal(peer.stats.sessions, 1);
  assert.deepEqual(peer.stats.delivered, ['b1@y.test', 'b2@y.test', 'b3@y.test']);
  assert.equal(peer.stats.commands.filter((c) => c.endsWith('EHLO us.test')).length, 1);
  pool.close();
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(peer.stats.commands.includes('1 QUIT'));
  await peer.close();
});

test('an idle connection the peer dropped unseen: the batch goes on a fresh connection, nothing deferred', async () => {
  // Session 1 hangs up on the RSET that starts the second batch, without a word: the race with an idle timeout.
  const peer = await sink((session) => (session === 1 ? 'hang-up' : 'ok'));
  const pool = new ConnectionPool();
  await send(peer.port, pool, [message('M1', 'b1@y.test')]);
  const second = await send(peer.port, pool, [message('M2', 'b2@y.test')]);
  assert.equal(second.get('M2')?.[0]?.outcome, 'delivered');
  assert.equal(peer.stats.sessions, 2);
  assert.deepEqual(peer.stats.delivered, ['b1@y.test', 'b2@y.test']);
  pool.close();
  await peer.close();
});

test('an idle connection whose peer says 421 as we reuse it (its idle timeout): a fresh connection, nothing deferred', async () => {
  const peer = await sink((session) => (session === 1 ? '421' : 'ok'));
  const pool = new ConnectionPool();
  await send(peer.port, pool, [message('M1', 'b1@y.test')]);
  const second = await send(peer.port, pool, [message('M2', 'b2@y.test'), message('M3', 'b3@y.test')]);
  assert.deepEqual(
    [...second.values()].map((r) => r[0]?.outcome),
    ['delivered', 'delivered'],
  );
  assert.equal(peer.stats.sessions, 2);
  pool.close();
  await peer.close();
});

test('a peer that hangs up while idle leaves the pool at once', async () => {
  const peer = await sink();
  const pool = new ConnectionPool();
  await send(peer.port, pool, [message('M1', 'b1@y.test')]);
  assert.equal(pool.size, 1);
  await peer.close(); // destroys the server's side of the idle connection
  for (let i = 0; i < 50 && pool.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(pool.size, 0);
  pool.close();
});
