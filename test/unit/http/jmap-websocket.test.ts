// One JMAP WebSocket connection on an in-memory duplex: liveness pings on the shared ticker, a dead peer dropped, a slow reader dropped.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { serveJmapWebSocket, type JmapWebSocketDeps } from '../../../src/http/jmap-websocket.js';
import { InFlight } from '../../../src/http/responses.js';
import { encodeClientFrame, FrameReader, OPCODE, type WsEvent } from '../../../src/http/websocket/frames.js';
import { Ticker } from '../../../src/net/ticker.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { userOfAccount } from '../../../src/jmap/core/session.js';

const MASK = Buffer.from([1, 2, 3, 4]);

function setup(limitsWs?: JmapWebSocketDeps['limitsWs'], peerReads = true) {
  const written: WsEvent[] = [];
  const reader = new FrameReader({ maxMessageBytes: 1 << 24, requireMask: false });
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      written.push(...reader.push(chunk));
      // A peer that does not read: the first write never completes, so later ones queue up.
      if (peerReads) done();
    },
  });
  const ticker = new Ticker(1_000_000);
  const streams = new Map<() => void, string>();
  const deps: JmapWebSocketDeps = {
    methods: new Map([
      [
        'Core/echo',
        {
          capability: 'urn:ietf:params:jmap:core',
          account: false,
          run: (args: Record<string, unknown>) => args,
        },
      ],
    ]) as never,
    limits: {
      maxSizeUpload: 1,
      maxConcurrentUpload: 1,
      maxSizeRequest: 1 << 20,
      maxConcurrentRequests: 4,
      maxCallsInRequest: 4,
      maxObjectsInGet: 10,
      maxObjectsInSet: 10,
    },
    capabilities: [{ urn: 'urn:ietf:params:jmap:core', session: {} }],
    states: { current: () => ({}), subscribe: () => () => undefined, watch: () => () => undefined },
    logger: silentLogger(),
    api: new InFlight(4),
    streams,
    ticker,
    ...(limitsWs ? { limitsWs } : {}),
  };
  const user = userOfAccount({ id: 1, address: 'bob@example.test' }, deps.capabilities);
  serveJmapWebSocket(socket, Buffer.alloc(0), user, deps);
  const settle = () => new Promise((r) => setImmediate(r));
  return { socket, written, ticker, streams, settle };
}

describe('JMAP WebSocket connection', () => {
  test('a silent peer is pinged on one tick and dropped on the next; any frame keeps it', async () => {
    const { socket, written, ticker, settle } = setup();
    ticker.tick(); // heard at open: nothing yet
    assert.deepEqual(written, []);
    ticker.tick();
    await settle();
    assert.deepEqual(written, [{ kind: 'ping', data: Buffer.alloc(0) }]);
    socket.push(encodeClientFrame(OPCODE.pong, '', MASK));
    await settle();
    ticker.tick();
    assert.equal(socket.destroyed, false, 'the pong counted');
    ticker.tick(); // silent again: ping
    ticker.tick(); // no pong: dropped
    assert.equal(socket.destroyed, true);
    await settle();
    assert.equal(ticker.size, 0, 'its ticker task went with it');
  });

  test('requests are answered in order; a peer that does not read is dropped', async () => {
    const { socket, written, settle } = setup({ maxQueuedMessages: 4, maxBufferedBytes: 100 }, false);
    const request = (id: string) =>
      encodeClientFrame(
        OPCODE.text,
        JSON.stringify({
          '@type': 'Request',
          id,
          using: ['urn:ietf:params:jmap:core'],
          methodCalls: [['Core/echo', {}, 'c']],
        }),
        MASK,
      );
    socket.push(Buffer.concat([request('a'), request('b')]));
    for (let i = 0; i < 5; i++) await settle();
    assert.ok(written.some((e) => e.kind === 'text' && e.data.includes('"requestId":"a"')));
    // The answers to a and b wait unread past 100 bytes: the connection is dropped, not buffered without bound.
    assert.equal(socket.destroyed, true);
  });
});
