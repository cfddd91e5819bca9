// WebSocket frames (RFC 6455 5): a pure reader (bytes in any split -> messages, control frames or a protocol error) and the frame writer.

/** Opcodes (RFC 6455 5.2, 11.8). */
export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close codes the server sends (RFC 6455 7.4.1). */
export const CLOSE_CODE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
} as const;

export type WsEvent =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Buffer }
  | { kind: 'ping'; data: Buffer }
  | { kind: 'pong'; data: Buffer }
  /** The peer's Close frame (RFC 6455 5.5.1); code null when it carried none (1005 is never sent). */
  | { kind: 'close'; code: number | null; reason: string }
  /** The peer broke the protocol: close with `code` and stop reading (RFC 6455 7.1.7). */
  | { kind: 'error'; code: number; reason: string };

export interface FrameReaderOptions {
  /** The largest message (all fragments together) accepted; past it the reader fails with 1009. */
  maxMessageBytes: number;
  /** A server requires masked frames from the client (RFC 6455 5.1); a client requires unmasked ones. */
  requireMask: boolean;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Close codes a peer may send (RFC 6455 7.4.1, 7.4.2; 1004-1006 and 1015 never go on the wire). */
function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Reads frames from the bytes of one connection, whatever the split. Data frames are put together into
 * messages (fragmentation, 5.4); control frames may come between fragments. A text message must be
 * UTF-8 (8.1, else 1007). After the first error or close, `push` returns nothing more.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The fragments of the message being received, and its opcode (null: none in progress). */
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private messageOpcode: number | null = null;
  private done = false;

  constructor(private readonly options: FrameReaderOptions) {}

  push(chunk: Buffer): WsEvent[] {
    if (this.done) return [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const events: WsEvent[] = [];
    for (;;) {
      const event = this.next();
      if (event === null) break;
      events.push(event);
      if (event.kind === 'error' || event.kind === 'close') {
        this.done = true;
        this.chunks = [];
        this.fragments = [];
        break;
      }
    }
    return events;
  }

  /** The next event, or null when more bytes are needed. */
  private next(): WsEvent | null {
    for (;;) {
      if (this.buffered < 2) return null;
      const head = this.peek(Math.min(this.buffered, 14));
      const b0 = head[0]!;
      const b1 = head[1]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let length = b1 & 0x7f;
      let offset = 2;
      // No extension is negotiated, so the RSV bits must be 0 (5.2).
      if ((b0 & 0x70) !== 0) return fail(CLOSE_CODE.protocolError, 'reserved bits set');
      const control = opcode >= 0x8;
      if (![0x0, 0x1, 0x2, 0x8, 0x9, 0xa].includes(opcode))
        return fail(CLOSE_CODE.protocolError, 'unknown opcode');
      if (masked !== this.options.requireMask) {
        return fail(
          CLOSE_CODE.protocolError,
          masked ? 'masked frame from the server' : 'unmasked frame from the client',
        );
      }
      if (control && (!fin || length > 125)) {
        return fail(CLOSE_CODE.protocolError, 'control frames are at most 125 bytes and not fragmented');
      }
      if (length === 126) {
        if (head.length < 4) return null;
        length = head.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (head.length < 10) return null;
        const high = head.readUInt32BE(2);
        // The most significant bit must be 0 (5.2); anything past 2^32 is far over any limit here.
        if (high !== 0) return fail(CLOSE_CODE.messageTooBig, 'message too big');
        length = head.readUInt32BE(6);
        offset = 10;
      }
      if (!control) {
        if (opcode === OPCODE.continuation && this.messageOpcode === null) {
          return fail(CLOSE_CODE.protocolError, 'continuation without a message');
        }
        if (opcode !== OPCODE.continuation && this.messageOpcode !== null) {
          return fail(CLOSE_CODE.protocolError, 'a new message before the last one ended');
        }
        // Refused before the payload is buffered: a hostile length costs nothing.
        if (this.fragmentBytes + length > this.options.maxMessageBytes) {
          return fail(CLOSE_CODE.messageTooBig, `messages are at most ${this.options.maxMessageBytes} bytes`);
        }
      }
      const maskBytes = masked ? 4 : 0;
      if (this.buffered < offset + maskBytes + length) return null;
      this.take(offset);
      const mask = masked ? this.take(4) : null;
      const payload = this.take(length);
      if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;

      if (control) {
        if (opcode === OPCODE.ping) return { kind: 'ping', data: payload };
        if (opcode === OPCODE.pong) return { kind: 'pong', data: payload };
        return closeEvent(payload);
      }
      if (opcode !== OPCODE.continuation) this.messageOpcode = opcode;
      this.fragments.push(payload);
      this.fragmentBytes += payload.length;
      if (!fin) continue;
      const data = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
      const kind = this.messageOpcode;
      this.fragments = [];
      this.fragmentBytes = 0;
      this.messageOpcode = null;
      if (kind === OPCODE.binary) return { kind: 'binary', data };
      const text = decodeUtf8(data);
      if (text === null) return fail(CLOSE_CODE.invalidPayload, 'text message is not UTF-8');
      return { kind: 'text', data: text };
    }
  }

  /** The first `n` buffered bytes without consuming them (n <= buffered). */
  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  /** Consumes `n` bytes (n <= buffered) into a buffer the caller owns (unmasking writes into it). */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const first = this.chunks[0]!;
      const count = Math.min(first.length, n - at);
      first.copy(out, at, 0, count);
      at += count;
      if (count === first.length) this.chunks.shift();
      else this.chunks[0] = first.subarray(count);
    }
    this.buffered -= n;
    return out;
  }
}

function fail(code: number, reason: string): WsEvent {
  return { kind: 'error', code, reason };
}

/** A Close frame's payload (5.5.1): nothing, or a 2-byte valid code and a UTF-8 reason. */
function closeEvent(payload: Buffer): WsEvent {
  if (payload.length === 0) return { kind: 'close', code: null, reason: '' };
  if (payload.length === 1) return fail(CLOSE_CODE.protocolError, 'close frame with a 1-byte body');
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code)) return fail(CLOSE_CODE.protocolError, `invalid close code ${code}`);
  const reason = decodeUtf8(payload.subarray(2));
  if (reason === null) return fail(CLOSE_CODE.invalidPayload, 'close reason is not UTF-8');
  return { kind: 'close', code, reason };
}

/** One unfragmented frame as the server sends it (unmasked, 5.1). */
export function encodeFrame(opcode: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const n = body.length;
  const headerLength = n < 126 ? 2 : n < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + n);
  frame[0] = 0x80 | opcode;
  if (n < 126) frame[1] = n;
  else if (n < 0x10000) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(n, 6);
  }
  body.copy(frame, headerLength);
  return frame;
}

/** A Close frame with `code` and a reason cut to fit the 125-byte control frame limit (5.5). */
export function encodeClose(code: number, reason = ''): Buffer {
  let text = Buffer.from(reason, 'utf8');
  if (text.length > 123) text = Buffer.from(reason.slice(0, 40), 'utf8').subarray(0, 123);
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return encodeFrame(OPCODE.close, payload);
}

/** A frame as a client sends it (masked with `mask`, 5.3): for tests and the test client. */
export function encodeClientFrame(
  opcode: number,
  payload: Buffer | string,
  mask: Buffer,
  fin = true,
): Buffer {
  const frame = encodeFrame(opcode, payload);
  const headerLength =
    frame.length - (typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length);
  const out = Buffer.allocUnsafe(frame.length + 4);
  frame.copy(out, 0, 0, headerLength);
  out[0] = (fin ? 0x80 : 0) | opcode;
  out[1] = out[1]! | 0x80;
  mask.copy(out, headerLength, 0, 4);
  for (let i = 0; i < frame.length - headerLength; i++) {
    out[headerLength + 4 + i] = frame[headerLength + i]! ^ mask[i & 3]!;
  }
  return out;
}
