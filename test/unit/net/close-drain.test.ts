// drainThenDestroy: a goodbye is delivered and a little trailing input dropped, but a client that keeps
// streaming after it is cut at CLOSE_DRAIN.maxBytes instead of being read for the whole grace period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CLOSE_DRAIN } from '../../../src/config/limits.js';
import { closeAfterQuit, drainThenDestroy } from '../../../src/net/close-drain.js';

async function pair(allowHalfOpen = false): Promise<{ server: Socket; client: Socket; close: () => void }> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  // allowHalfOpen: like a flood tool, the client keeps sending after our FIN instead of ending too.
  const client = connect({ port, host: '127.0.0.1', allowHalfOpen });
  const [server] = (await once(srv, 'connection')) as [Socket];
  return { server, client, close: () => srv.close() };
}

test('an honest client gets the goodbye and a clean end; a few trailing bytes are dropped', async () => {
  const { server, client, close } = await pair();
  let received = '';
  client.on('data', (d: Buffer) => (received += d.toString()));
  client.write('LOGOUT tail\r\n');
  drainThenDestroy(server, '* BYE bye\r\n');
  await once(client, 'end');
  assert.equal(received, '* BYE bye\r\n');
  client.end();
  await once(server, 'close');
  close();
});

test('a client that keeps streaming after the goodbye is destroyed after maxBytes, long before the grace period', async () => {
  const { server, client, close } = await pair(true);
  client.on('data', () => undefined);
  client.on('error', () => undefined);
  const started = Date.now();
  drainThenDestroy(server, '* BYE Literal too large\r\n');
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  let sent = 0;
  const pump = setInterval(() => {
    for (let i = 0; i < 8 && !client.destroyed; i++) {
      client.write(chunk);
      sent += chunk.length;
    }
  }, 1);
  await once(server, 'close');
  clearInterval(pump);
  client.destroy();
  assert.ok(Date.now() - started < CLOSE_DRAIN.graceMs / 2, 'cut by the byte limit, not the timer');
  assert.ok(sent > CLOSE_DRAIN.maxBytes);
  close();
});

test('a closed connection is not kept alive by the grace timer (its objects can be collected at once)', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Made in a function of its own so that nothing here holds the server's socket once it has closed.
  const closedSocket = async (): Promise<WeakRef<Socket>> => {
    const { server, client, close } = await pair();
    client.on('data', () => undefined);
    drainThenDestroy(server, '* BYE bye\r\n');
    await once(client, 'end');
    client.end();
    await once(server, 'close');
    close();
    return new WeakRef(server);
  };
  const ref = await closedSocket();
  for (let i = 0; i < 5 && ref.deref(); i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.equal(ref.deref(), undefined, 'collected well before CLOSE_DRAIN.graceMs');
});

test('after QUIT: the reply is delivered and the server closes without waiting for the client to end', async () => {
  const { server, client, close } = await pair(true); // the client does not end by itself
  let received = '';
  client.on('data', (d: Buffer) => (received += d.toString()));
  const ended = once(client, 'end');
  closeAfterQuit(server, '221 2.0.0 bye\r\n');
  await once(server, 'close');
  await ended;
  assert.equal(received, '221 2.0.0 bye\r\n');
  client.destroy();
  close();
});

test('after QUIT: a client that resets its end (SO_LINGER 0) costs the server no read error', async () => {
  for (const end of [closeAfterQuit, drainThenDestroy]) {
    const { server, client, close } = await pair();
    const errors: string[] = [];
    server.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    client.once('data', () => client.resetAndDestroy());
    const closed = new Promise((resolve) => server.once('close', resolve)); // events.once would reject on 'error'
    end(server, '221 2.0.0 bye\r\n');
    await closed;
    close();
    // drainThenDestroy keeps reading for the client's end, and reads the reset as an error (with its stack).
    if (end === closeAfterQuit) assert.deepEqual(errors, []);
    else assert.deepEqual(errors, ['ECONNRESET'], 'the comparison: draining reads the reset');
  }
});
