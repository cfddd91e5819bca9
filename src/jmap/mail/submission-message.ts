// Pure: a stored Email made ready to send (RFC 8621 7.5): its header read, Bcc and Return-Path removed, the envelope derived.
import { parseAddresses } from '../../mail/envelope.js';
import { HeaderMap } from '../../mail/headers.js';
import type { SubmissionEnvelope } from '../../store/sending-store.js';

export interface OutgoingMessage {
  headers: HeaderMap;
  /** The bytes to send: the message without Bcc (RFC 5322 3.6.3) and Return-Path (RFC 5321 4.4). */
  bytes: Buffer;
  /** Some byte is 8-bit (the queue then asks for 8BITMIME, RFC 6152). */
  eightBit: boolean;
}

/** Where the header block ends: the offset just after the empty line, or the length when there is none. */
export function headerEnd(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i + 1] === 0x0a) return i + 2;
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return i + 3;
  }
  return bytes.length;
}

/**
 * Removes whole fields (with their continuation lines) named in `drop` (lower case) from a header block.
 * RFC 5322 3.6.3: how Bcc is handled is up to the implementation; the usual one, which this is, sends
 * no Bcc field at all so no recipient learns of the blind copies. Return-Path belongs to final delivery
 * only (RFC 5321 4.4): a stored message being resent must not carry the old one.
 */
export function dropFields(header: Buffer, drop: ReadonlySet<string>): Buffer {
  const out: Buffer[] = [];
  let dropping = false;
  let pos = 0;
  while (pos < header.length) {
    const nl = header.indexOf(0x0a, pos);
    const end = nl < 0 ? header.length : nl + 1;
    const line = header.subarray(pos, end);
    const first = line[0];
    if (first === 0x20 || first === 0x09) {
      if (!dropping) out.push(line);
    } else {
      const colon = line.indexOf(0x3a);
      const name = colon > 0 ? line.subarray(0, colon).toString('latin1').trim().toLowerCase() : '';
      dropping = drop.has(name);
      if (!dropping) out.push(line);
    }
    pos = end;
  }
  return Buffer.concat(out);
}

const DROPPED = new Set(['bcc', 'return-path']);

export function outgoingMessage(stored: Buffer): OutgoingMessage {
  const end = headerEnd(stored);
  const header = stored.subarray(0, end);
  const headers = HeaderMap.parse(header);
  const bytes = Buffer.concat([dropFields(header, DROPPED), stored.subarray(end)]);
  return { headers, bytes, eightBit: bytes.some((b) => b >= 0x80) };
}

/** The addresses of every field named `name`, lower-cased domain, in order. */
export function headerAddresses(headers: HeaderMap, name: string): string[] {
  return headers.getAll(name).flatMap((v) => parseAddresses(v).map((a) => a.address));
}

/**
 * The envelope RFC 8621 7.5 derives when the client gives none: mailFrom is the Sender address, else the
 * (first) From address; rcptTo is every address of To, Cc and Bcc, without duplicates (compared
 * case-insensitively), in order.
 */
export function deriveEnvelope(headers: HeaderMap): SubmissionEnvelope {
  const mailFrom = headerAddresses(headers, 'sender')[0] ?? headerAddresses(headers, 'from')[0] ?? '';
  const seen = new Set<string>();
  const rcptTo: SubmissionEnvelope['rcptTo'] = [];
  for (const name of ['to', 'cc', 'bcc']) {
    for (const email of headerAddresses(headers, name)) {
      const key = email.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      rcptTo.push({ email, parameters: null });
    }
  }
  return { mailFrom: { email: mailFrom, parameters: null }, rcptTo };
}
