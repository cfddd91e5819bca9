// Pure builders for the bench's test messages: headers per message, one shared body of S payload bytes.

/**
 * The payload is S bytes of 78-byte lines (CRLF counted), like smtp-source's -l: the length excludes
 * headers. It always ends in CRLF so the DATA terminator starts a line (RFC 5321 4.1.1.4); a size of 1
 * therefore becomes 2. Lines never start with '.', but dotStuff() is applied anyway so the builder
 * stays correct if the filler changes (RFC 5321 4.5.2).
 */
export function buildPayload(size: number): Buffer {
  if (!Number.isInteger(size) || size < 0)
    throw new RangeError(`payload size must be a whole number, got ${size}`);
  if (size === 0) return Buffer.alloc(0);
  const line = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 the quick fox\r\n';
  let text = line.repeat(Math.floor(size / line.length));
  const rest = size - text.length;
  if (rest === 1 && text.length > 0)
    text = text.slice(0, -2) + ' \r\n'; // widen the last line by one
  else if (rest >= 1) text += 'x'.repeat(Math.max(0, rest - 2)) + '\r\n';
  return Buffer.from(dotStuff(text), 'latin1');
}

/** RFC 5321 4.5.2: a line starting with '.' gets one more '.' in front. */
export function dotStuff(text: string): string {
  return text.replace(/(^|\n)\./g, '$1..');
}

export interface MessageHeaderInput {
  index: number;
  from: string;
  to: string;
  date: Date;
}

/** Per-message headers (unique Message-ID so every message is distinct), ending with the blank line. */
export function buildHeaders(h: MessageHeaderInput): Buffer {
  return Buffer.from(
    `From: <${h.from}>\r\nTo: <${h.to}>\r\nSubject: bench message ${h.index}\r\n` +
      `Message-ID: <${h.index}.${h.date.getTime()}@bench.mailroom.test>\r\nDate: ${h.date.toUTCString()}\r\n\r\n`,
    'latin1',
  );
}

export const DATA_END = Buffer.from('.\r\n', 'latin1');
