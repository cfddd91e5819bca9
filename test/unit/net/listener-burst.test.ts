// A connection burst on a plaintext listener: accepted many per turn (handle copies), set up fairly (the gate).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { ACCEPT_HANDLE_COPIES, SETUP_PER_TURN } from '../../../src/config/limits.js';
import { listen, type Listener } from '../../../src/net/listener.js';

/** Blocks this thread (so the kernel completes every pending handshake before the next poll). */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** A plaintext listener on a free port; its extra handles are in place once listen resolves. */
async function burstListener(
  maxConnections: number,
  onConnection: (socket: Socket) => void = () => undefined,
): Promise<{ listener: Listener; port: number }> {
  const listener = await listen([{ host: '127.0.0.1', port: 0 }], {
    maxConnections,
    maxConnectionsPerIp: 100,
    refusal: '421 busy\r\n',
    onConnection,
  });
  assert.equal(listener.acceptHandles, 1 + ACCEPT_HANDLE_COPIES);
  return { listener, port: listener.addresses[0]!.port };
}

/** Opens `count` connections from `localAddress` and waits until the connect calls have been made. */
async function burst(port: number, localAddress: string, count: number, paused = false): Promise<Socket[]> {
  const sockets = Array.from({ length: count }, () => {
    const s = netConnect({ port, host: '127.0.0.1', localAddress });
    s.on('error', () => undefined);
    if (paused) s.pause();
    return s;
  });
  // net.connect makes its connect(2) call in a nextTick: let them run.
  await new Promise<void>((resolve) => process.nextTick(resolve));
  return sockets;
}

/**
 * Connects every `busy` address in the order given, then `quiet`, all queued in the kernel before the first
 * accept; resolves with the quiet one's position in the setup order once all are set up.
 */
async function quietPosition(busy: readonly string[], quiet: string): Promise<number> {
  const order: string[] = [];
  const { listener, port } = await burstListener(1000, (socket) => {
    order.push(socket.remoteAddress ?? '');
    socket.write('* OK hi\r\n');
  });
  const open = (localAddress: string): Socket => {
    const c = netConnect({ port, host: '127.0.0.1', localAddress });
    c.on('error', () => undefined);
    return c;
  };
  const sockets = busy.map(open);
  const quietSocket = open(quiet);
  await new Promise<void>((resolve) => process.nextTick(resolve));
  block(100);
  const total = busy.length + 1;
  for (let i = 0; i < 200 && order.length < total; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(order.length, total);
  await new Promise<void>((resolve) => quietSocket.once('data', () => resolve()));
  await listener.stopAccepting();
  listener.destroyAll();
  for (const c of [...sockets, quietSocket]) c.destroy();
  return order.indexOf(quiet);
}

describe('plaintext listener under a connection burst', () => {
  test(`one turn of the loop accepts up to 1 + ${ACCEPT_HANDLE_COPIES} connections, not one`, async () => {
    const { listener, port } = await burstListener(100);
    // The admitted count at the end of every turn (check phase, right after the poll phase's accepts).
    const sizes: number[] = [];
    const waiting: number[] = [];
    let watching = true;
    const watch = (): void => {
      sizes.push(listener.sockets.size);
      waiting.push(listener.waiting);
      if (watching) setImmediate(watch);
    };
    setImmediate(watch);
    const clients = await burst(port, '127.0.0.1', 40);
    block(100);
    for (let i = 0; i < 50 && listener.sockets.size < 40; i++) await new Promise((r) => setTimeout(r, 10));
    watching = false;
    const perTurn = sizes.slice(1).map((n, i) => n - sizes[i]!);
    const most = Math.max(...perTurn);
    // Without the copies libuv accepts one connection per listening handle and turn.
    assert.ok(most >= 8, `at most ${most} accepted in one turn: ${perTurn.filter((n) => n > 0).join(',')}`);
    assert.ok(most <= 1 + ACCEPT_HANDLE_COPIES, `${most} accepted in one turn`);
    assert.equal(listener.sockets.size, 40);
    // Admitted 16 a turn, set up 4 a turn: the rest wait their turn, and none is left waiting.
    assert.ok(Math.max(...waiting) >= 4, `at most ${Math.max(...waiting)} waiting`);
    for (let i = 0; i < 50 && listener.waiting > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(listener.waiting, 0);
    await listener.stopAccepting();
    listener.destroyAll();
    for (const c of clients) c.destroy();
  });

  test('a quiet address is set up within a round, ahead of a busy address backlog', async () => {
    // 40 from a busy address, then one from a quiet one.
    const at = await quietPosition(Array<string>(40).fill('127.0.0.2'), '127.0.0.3');
    // In arrival order it would be last (40). Accepted 16 per turn, set up 4 per turn, it is accepted in
    // the third turn and served in that turn's first round: after at most ~4 + 4 + 4 + 1 busy ones.
    assert.ok(at >= 0 && at <= 4 * SETUP_PER_TURN, `set up at position ${at} of 41`);
  });

  test('a quiet address waits one turn, not one setup per busy address', async () => {
    // 20 busy addresses with 6 connections each, then a quiet one: it is accepted in the last of ~8
    // turns, with ~90 still waiting.
    const busy = Array.from({ length: 120 }, (_, i) => `127.0.1.${(i % 20) + 1}`);
    const at = await quietPosition(busy, '127.0.2.1');
    // Round-robin alone would serve a connection of each of the 20 busy addresses first (position ~48);
    // as a single connection it goes in the turn after its accept (~36).
    const acceptTurns = Math.ceil(121 / (1 + ACCEPT_HANDLE_COPIES));
    assert.ok(at >= 0 && at <= (acceptTurns + 2) * SETUP_PER_TURN, `set up at position ${at} of 121`);
  });

  test('limits and refusals in progress count over every handle: past max + slack connections are dropped unread', async () => {
    const { listener, port } = await burstListener(2);
    // 2 admitted + 64 refused with the line (the slack), the rest closed without a word. The clients do
    // not read until the burst is over, so no refused connection closes and frees its slot early.
    const clients = await burst(port, '127.0.0.4', 80, true);
    block(100);
    for (let i = 0; i < 50 && listener.sockets.size < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    const replies = await Promise.all(
      clients.map(
        (c) =>
          new Promise<string>((resolve) => {
            let text = '';
            c.on('data', (d: Buffer) => (text += d.toString()));
            c.on('close', () => resolve(text));
            c.resume();
            setTimeout(() => c.destroy(), 1_000);
          }),
      ),
    );
    const refused = replies.filter((r) => r === '421 busy\r\n').length;
    const silent = replies.filter((r) => r === '').length;
    assert.equal(
      refused + silent,
      80,
      'every connection was either admitted (silent here), refused or dropped',
    );
    // Counted per handle (maxConnections + slack = 66 each), all 78 others would get the line.
    assert.equal(refused, 64, 'refused with the line: the slack');
    assert.equal(silent, 16, 'without a word: 2 admitted, 14 past the cap');
    await listener.stopAccepting();
    listener.destroyAll();
  });
});
