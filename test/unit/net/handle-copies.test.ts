// Extra handles on one listening socket, from a child over IPC: real, closed with the server, and never a hang.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer, type Server } from 'node:net';
import { listenHandleCopies } from '../../../src/net/handle-copies.js';

async function listening(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function connectResult(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = netConnect({ port, host: '127.0.0.1' });
    c.once('data', (d: Buffer) => (resolve(d.toString()), c.destroy()));
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('listenHandleCopies', () => {
  test('each copy accepts on the same port; once all are closed, nothing listens (no copy left in the child)', async () => {
    const server = await listening();
    const port = (server.address() as { port: number }).port;
    const handles = await listenHandleCopies(server, 3);
    assert.equal(handles.length, 3);
    server.close();
    const copies = handles.map((h, i) => {
      const s = createServer((c) => c.end(`copy ${i}\r\n`));
      s.listen(h as never);
      return s;
    });
    assert.match(await connectResult(port), /^copy \d\r\n$/);
    for (const s of copies) s.close();
    assert.equal(await connectResult(port), 'ECONNREFUSED');
  });

  test('a server that does not listen gets none', async () => {
    assert.deepEqual(await listenHandleCopies(createServer(), 3), []);
  });

  test('a child that cannot start gives none, and the caller does not wait forever', async () => {
    const server = await listening();
    const execPath = process.execPath;
    // Let a running child from the tests above finish its idle time, so this request starts a new one.
    await new Promise((r) => setTimeout(r, 1_200));
    process.execPath = '/nonexistent/node';
    try {
      assert.deepEqual(await listenHandleCopies(server, 3), []);
    } finally {
      process.execPath = execPath;
    }
    // And the next request starts a working child again.
    const handles = await listenHandleCopies(server, 2);
    assert.equal(handles.length, 2);
    for (const h of handles) (h as { close(): void }).close();
    server.close();
  });
});
