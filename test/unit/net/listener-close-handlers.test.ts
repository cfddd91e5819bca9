// Per-connection cost of the listener and the connection metrics: one shared 'close' handler for every socket, and the per-IP count still released.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { listen } from '../../../src/net/listener.js';
import { createMetrics } from '../../../src/observability/metrics.js';

/** Connects and resolves with the first line the server sends. */
function firstLine(port: number): Promise<{ socket: net.Socket; line: string }> {
  return new Promise((done, fail) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.endsWith('\r\n')) done({ socket, line: text });
    });
    socket.once('error', fail);
  });
}

test('idle connections hold no closure of their own: the close handlers are shared, and closing still frees the per-IP slot', async () => {
  const metrics = createMetrics();
  const accepted: net.Socket[] = [];
  const listener = await listen([{ host: '127.0.0.1', port: 0 }], {
    name: 'http',
    maxConnections: 10,
    maxConnectionsPerIp: 2,
    refusal: '421 busy\r\n',
    onConnection: (socket) => {
      metrics.connectionOpened('http', socket);
      accepted.push(socket);
      socket.write('hi\r\n');
    },
  });
  const port = listener.addresses[0]!.port;
  try {
    const a = await firstLine(port);
    const b = await firstLine(port);
    assert.equal(accepted.length, 2);
    const [first, second] = accepted as [net.Socket, net.Socket];
    // A closure (and a `once` wrapper) per socket is ~0.3 KiB each that every idle connection holds
    // (1,000 EventSource streams, issue 9); the same functions for every socket hold nothing per socket.
    assert.deepEqual(first.listeners('close'), second.listeners('close'));
    assert.ok(first.listeners('close').length >= 2, 'the listener and the metrics both watch close');
    assert.equal((await firstLine(port)).line, '421 busy\r\n', 'two per IP');
    a.socket.destroy();
    b.socket.destroy();
    for (let i = 0; i < 100 && listener.sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(listener.sockets.size, 0);
    const c = await firstLine(port);
    assert.equal(c.line, 'hi\r\n', 'closed connections no longer count against the per-IP limit');
    c.socket.destroy();
    for (let i = 0; i < 100 && listener.sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(await metrics.text(), /mailroom_sessions_open\{listener="http"\} 0/);
  } finally {
    await listener.stopAccepting();
    listener.destroyAll();
  }
});
