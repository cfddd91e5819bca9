// A small WebSocket client over a raw socket (Node 20 has no global WebSocket): the handshake, masked frames out, events in.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { acceptKey } from '../../src/http/websocket/handshake.js';
import { encodeClientFrame, FrameReader, OPCODE, type WsEvent } from '../../src/http/websocket/frames.js';

export interface WsTestClient {
  socket: Socket;
  /** The handshake's response head (status line and headers). */
  head: string;
  status: number;
  /** Sends a text message (masked, one frame). */
  sendText(text: string): void;
  sendJson(value: unknown): void;
  /** Raw bytes, for hostile frames. */
  sendRaw(bytes: Buffer): void;
  sendFrame(opcode: number, payload: Buffer | string, fin?: boolean): void;
  /** The next event (a text message parsed as JSON stays text; see nextJson). */
  next(timeoutMs?: number): Promise<WsEvent | { kind: 'end' }>;
  nextJson(timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): void;
}

/** Opens ws://127.0.0.1:port/path with `headers` (Authorization, Origin, ...); resolves after the response head. */
export function openWs(
  port: number,
  path: string,
  headers: Record<string, string>,
  options: { protocol?: string | null; localAddress?: string } = {},
): Promise<WsTestClient> {
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
      ...(options.protocol === null ? [] : [`Sec-WebSocket-Protocol: ${options.protocol ?? 'jmap'}`]),
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    const reader = new FrameReader({ maxMessageBytes: 64 * 1024 * 1024, requireMask: false });
    const events: (WsEvent | { kind: 'end' })[] = [];
    let wake: (() => void) | null = null;
    let buffered = Buffer.alloc(0);
    let opened = false;
    const push = (e: WsEvent | { kind: 'end' }) => {
      events.push(e);
      wake?.();
    };
    socket.on('error', () => push({ kind: 'end' }));
    socket.on('close', () => push({ kind: 'end' }));
    socket.on('data', (chunk: Buffer) => {
      if (opened) {
        for (const e of reader.push(chunk)) push(e);
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      opened = true;
      const head = buffered.subarray(0, end).toString('latin1');
      const rest = buffered.subarray(end + 4);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      if (status === 101 && !head.includes(`Sec-WebSocket-Accept: ${acceptKey(key)}`)) {
        reject(new Error(`bad Sec-WebSocket-Accept in ${head}`));
        return;
      }
      if (status === 101) for (const e of reader.push(rest)) push(e);
      const mask = () => randomBytes(4);
      const client: WsTestClient = {
        socket,
        head: status === 101 ? head : head + '\r\n\r\n' + rest.toString('utf8'),
        status,
        sendText: (text) => socket.write(encodeClientFrame(OPCODE.text, text, mask())),
        sendJson: (value) => socket.write(encodeClientFrame(OPCODE.text, JSON.stringify(value), mask())),
        sendRaw: (bytes) => socket.write(bytes),
        sendFrame: (opcode, payload, fin = true) =>
          socket.write(encodeClientFrame(opcode, payload, mask(), fin)),
        async next(timeoutMs = 3000) {
          const deadline = Date.now() + timeoutMs;
          while (events.length === 0) {
            const left = deadline - Date.now();
            if (left <= 0) throw new Error('no WebSocket event in time');
            await new Promise<void>((done) => {
              const timer = setTimeout(done, left);
              wake = () => {
                clearTimeout(timer);
                done();
              };
            });
            wake = null;
          }
          return events.shift()!;
        },
        async nextJson(timeoutMs = 3000) {
          const event = await client.next(timeoutMs);
          if (event.kind !== 'text') throw new Error(`expected a text message, got ${JSON.stringify(event)}`);
          return JSON.parse(event.data) as Record<string, unknown>;
        },
        close: () => socket.destroy(),
      };
      resolve(client);
    });
    socket.once('close', () => {
      if (!opened) reject(new Error('closed before the handshake answer'));
    });
  });
}
