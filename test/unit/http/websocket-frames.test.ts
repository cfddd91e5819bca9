// WebSocket framing (RFC 6455): the RFC's own examples, every split of a stream, then hostile frames; and the handshake.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLOSE_CODE,
  encodeClientFrame,
  encodeClose,
  encodeFrame,
  FrameReader,
  OPCODE,
  type WsEvent,
} from '../../../src/http/websocket/frames.js';
import { acceptKey, websocketHandshake } from '../../../src/http/websocket/handshake.js';

const server = (max = 1024) => new FrameReader({ maxMessageBytes: max, requireMask: true });
const client = (max = 1 << 20) => new FrameReader({ maxMessageBytes: max, requireMask: false });
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MASK = hex('37fa213d');

describe('RFC 6455 5.7 examples', () => {
  const rows: [string, FrameReader, Buffer, WsEvent[]][] = [
    [
      'single-frame unmasked text "Hello"',
      client(),
      hex('810548656c6c6f'),
      [{ kind: 'text', data: 'Hello' }],
    ],
    [
      'single-frame masked text "Hello"',
      server(),
      hex('818537fa213d7f9f4d5158'),
      [{ kind: 'text', data: 'Hello' }],
    ],
    [
      'fragmented unmasked text "Hel" + "lo"',
      client(),
      hex('010348656c 80026c6f'),
      [{ kind: 'text', data: 'Hello' }],
    ],
    [
      'unmasked Ping "Hello"',
      client(),
      hex('890548656c6c6f'),
      [{ kind: 'ping', data: Buffer.from('Hello') }],
    ],
    [
      'masked Pong "Hello"',
      server(),
      hex('8a8537fa213d7f9f4d5158'),
      [{ kind: 'pong', data: Buffer.from('Hello') }],
    ],
    [
      '256 bytes binary in one unmasked frame',
      client(),
      Buffer.concat([hex('827e0100'), Buffer.alloc(256, 7)]),
      [{ kind: 'binary', data: Buffer.alloc(256, 7) }],
    ],
    [
      '64 KiB binary in one unmasked frame',
      client(),
      Buffer.concat([hex('827f0000000000010000'), Buffer.alloc(65536, 1)]),
      [{ kind: 'binary', data: Buffer.alloc(65536, 1) }],
    ],
  ];
  for (const [name, reader, bytes, expected] of rows) {
    test(name, () => assert.deepEqual(reader.push(bytes), expected));
  }

  test('4.2.2 / 1.3: Sec-WebSocket-Accept of the sample nonce', () => {
    assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test('the writer: lengths 0, 125, 126, 65535, 65536 round-trip through a client reader', () => {
    for (const n of [0, 125, 126, 65535, 65536]) {
      const payload = Buffer.alloc(n, 0x61);
      assert.deepEqual(client().push(encodeFrame(OPCODE.text, payload)), [
        { kind: 'text', data: 'a'.repeat(n) },
      ]);
    }
    assert.deepEqual(client().push(encodeClose(1000, 'bye')), [{ kind: 'close', code: 1000, reason: 'bye' }]);
    assert.ok(encodeClose(1011, 'é'.repeat(200)).length <= 127, 'a control frame stays within 125 bytes');
  });
});

describe('any split gives the same events', () => {
  const stream = Buffer.concat([
    encodeClientFrame(OPCODE.text, '{"a":', MASK, false),
    encodeClientFrame(OPCODE.ping, 'p', MASK),
    encodeClientFrame(OPCODE.continuation, '"ü"}', MASK),
    encodeClientFrame(OPCODE.text, 'x'.repeat(300), MASK),
    encodeClientFrame(OPCODE.close, Buffer.from([0x03, 0xe8, 0x6f, 0x6b]), MASK),
  ]);
  const expected: WsEvent[] = [
    { kind: 'ping', data: Buffer.from('p') },
    { kind: 'text', data: '{"a":"ü"}' },
    { kind: 'text', data: 'x'.repeat(300) },
    { kind: 'close', code: 1000, reason: 'ok' },
  ];
  test('whole, byte by byte, and cut at every point', () => {
    assert.deepEqual(server().push(stream), expected);
    const bytewise = server();
    const events: WsEvent[] = [];
    for (const b of stream) events.push(...bytewise.push(Buffer.from([b])));
    assert.deepEqual(events, expected);
    for (let cut = 1; cut < stream.length; cut++) {
      const r = server();
      assert.deepEqual(
        [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))],
        expected,
        `cut ${cut}`,
      );
    }
  });
});

describe('hostile frames close with the right code (RFC 6455 7.4.1)', () => {
  const rows: [string, Buffer, number][] = [
    ['unmasked frame from a client', hex('810568656c6c6f'), CLOSE_CODE.protocolError],
    [
      'RSV1 set (no extension negotiated)',
      encodeClientFrame(OPCODE.text, 'a', MASK).fill(0xc1, 0, 1),
      CLOSE_CODE.protocolError,
    ],
    ['reserved opcode 0x3', encodeClientFrame(0x3, 'a', MASK), CLOSE_CODE.protocolError],
    ['reserved control opcode 0xB', encodeClientFrame(0xb, 'a', MASK), CLOSE_CODE.protocolError],
    ['ping of 126 bytes', encodeClientFrame(OPCODE.ping, Buffer.alloc(126), MASK), CLOSE_CODE.protocolError],
    ['fragmented ping', encodeClientFrame(OPCODE.ping, 'a', MASK, false), CLOSE_CODE.protocolError],
    [
      'continuation with no message',
      encodeClientFrame(OPCODE.continuation, 'a', MASK),
      CLOSE_CODE.protocolError,
    ],
    [
      'a new text frame inside a fragmented message',
      Buffer.concat([
        encodeClientFrame(OPCODE.text, 'a', MASK, false),
        encodeClientFrame(OPCODE.text, 'b', MASK),
      ]),
      CLOSE_CODE.protocolError,
    ],
    ['text that is not UTF-8', encodeClientFrame(OPCODE.text, hex('c328'), MASK), CLOSE_CODE.invalidPayload],
    [
      'a UTF-16 surrogate in UTF-8',
      encodeClientFrame(OPCODE.text, hex('eda080'), MASK),
      CLOSE_CODE.invalidPayload,
    ],
    ['close with a 1-byte body', encodeClientFrame(OPCODE.close, hex('03'), MASK), CLOSE_CODE.protocolError],
    [
      'close code 1005 (never on the wire)',
      encodeClientFrame(OPCODE.close, hex('03ed'), MASK),
      CLOSE_CODE.protocolError,
    ],
    ['close code 999', encodeClientFrame(OPCODE.close, hex('03e7'), MASK), CLOSE_CODE.protocolError],
    [
      'close reason not UTF-8',
      encodeClientFrame(OPCODE.close, hex('03e8ff'), MASK),
      CLOSE_CODE.invalidPayload,
    ],
    ['64-bit length with the top bit set', hex('81ff8000000000000001 00000000'), CLOSE_CODE.messageTooBig],
    ['a length of 2^40 (refused from the header)', hex('81ff0000010000000000'), CLOSE_CODE.messageTooBig],
    [
      'one frame over the limit',
      encodeClientFrame(OPCODE.text, Buffer.alloc(1025, 0x61), MASK),
      CLOSE_CODE.messageTooBig,
    ],
    [
      'fragments that add up past the limit',
      Buffer.concat([
        encodeClientFrame(OPCODE.text, Buffer.alloc(600, 0x61), MASK, false),
        encodeClientFrame(OPCODE.continuation, Buffer.alloc(600, 0x61), MASK),
      ]),
      CLOSE_CODE.messageTooBig,
    ],
  ];
  for (const [name, bytes, code] of rows) {
    test(name, () => {
      const reader = server();
      const events = reader.push(bytes);
      const last = events[events.length - 1];
      assert.equal(last?.kind, 'error', JSON.stringify(events));
      assert.equal(last.kind === 'error' && last.code, code);
      // Nothing is read after an error.
      assert.deepEqual(reader.push(encodeClientFrame(OPCODE.text, 'a', MASK)), []);
    });
  }

  test('a valid close ends reading too; 3000-4999 and 1000-1003, 1007-1014 are valid codes', () => {
    for (const code of [1000, 1003, 1007, 1014, 3000, 4999]) {
      const body = Buffer.alloc(2);
      body.writeUInt16BE(code);
      assert.deepEqual(server().push(encodeClientFrame(OPCODE.close, body, MASK)), [
        { kind: 'close', code, reason: '' },
      ]);
    }
    assert.deepEqual(server().push(encodeClientFrame(OPCODE.close, '', MASK)), [
      { kind: 'close', code: null, reason: '' },
    ]);
  });
});

describe('handshake (RFC 6455 4.2.1)', () => {
  const good = {
    upgrade: 'websocket',
    connection: 'keep-alive, Upgrade',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'sec-websocket-protocol': 'chat, jmap',
  };
  test('accepted: 101 with the accept key and the subprotocol', () => {
    const r = websocketHandshake('GET', good, 'jmap');
    assert.equal(r.kind, 'accept');
    assert.match(
      r.kind === 'accept' ? r.response : '',
      /^HTTP\/1\.1 101 .*\r\n.*Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n.*Sec-WebSocket-Protocol: jmap\r\n\r\n$/s,
    );
  });
  const rows: [string, string, Record<string, string | undefined>, number][] = [
    ['POST', 'POST', {}, 405],
    ['no Upgrade', 'GET', { upgrade: undefined }, 426],
    ['Connection without upgrade', 'GET', { connection: 'keep-alive' }, 426],
    ['version 8', 'GET', { 'sec-websocket-version': '8' }, 426],
    ['short key', 'GET', { 'sec-websocket-key': 'AAAA' }, 400],
    ['key with CRLF', 'GET', { 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==\r\nX: y' }, 400],
    ['no jmap subprotocol', 'GET', { 'sec-websocket-protocol': 'chat' }, 400],
    ['no subprotocol at all', 'GET', { 'sec-websocket-protocol': undefined }, 400],
  ];
  for (const [name, method, change, status] of rows) {
    test(`refused: ${name} -> ${status}`, () => {
      const headers: Record<string, string> = { ...good };
      for (const [k, v] of Object.entries(change)) {
        if (v === undefined) delete headers[k];
        else headers[k] = v;
      }
      const r = websocketHandshake(method, headers, 'jmap');
      assert.equal(r.kind === 'refuse' && r.status, status);
    });
  }
});
