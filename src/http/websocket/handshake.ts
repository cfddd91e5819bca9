// The WebSocket opening handshake (RFC 6455 4.2), pure: request headers -> the 101 response, or why not (with its HTTP status).
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** RFC 6455 1.3: appended to Sec-WebSocket-Key before hashing. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a key (RFC 6455 4.2.2 step 5.4). */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
}

export type HandshakeResult =
  | { kind: 'accept'; response: string }
  | { kind: 'refuse'; status: number; detail: string; headers?: Record<string, string> };

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** Comma-separated header tokens, trimmed and lower-cased (RFC 9110 5.6.1). */
function tokens(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
}

/**
 * Checks a GET's upgrade headers (RFC 6455 4.2.1): Upgrade websocket, Connection upgrade, version 13
 * (else 426 with the version we speak, 4.4), a key of 16 bytes in base64, and the subprotocol `wanted`
 * among those offered (RFC 8887 3: JMAP's is "jmap"). Accepted: the 101 response text to write.
 */
export function websocketHandshake(
  method: string,
  headers: IncomingHttpHeaders,
  wanted: string,
): HandshakeResult {
  if (method !== 'GET') return { kind: 'refuse', status: 405, detail: 'the WebSocket handshake is a GET' };
  if (
    !tokens(one(headers.upgrade)).includes('websocket') ||
    !tokens(one(headers.connection)).includes('upgrade')
  ) {
    return {
      kind: 'refuse',
      status: 426,
      detail: 'this URL speaks WebSocket only',
      headers: { Upgrade: 'websocket', Connection: 'Upgrade' },
    };
  }
  if (one(headers['sec-websocket-version'])?.trim() !== '13') {
    return {
      kind: 'refuse',
      status: 426,
      detail: 'WebSocket version 13 only',
      headers: { 'Sec-WebSocket-Version': '13' },
    };
  }
  const key = one(headers['sec-websocket-key'])?.trim() ?? '';
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    return { kind: 'refuse', status: 400, detail: 'Sec-WebSocket-Key must be 16 bytes in base64' };
  }
  const offered = (one(headers['sec-websocket-protocol']) ?? '').split(',').map((p) => p.trim());
  if (!offered.includes(wanted)) {
    return { kind: 'refuse', status: 400, detail: `the WebSocket subprotocol must be "${wanted}"` };
  }
  const response =
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
    `Sec-WebSocket-Protocol: ${wanted}\r\n\r\n`;
  return { kind: 'accept', response };
}
