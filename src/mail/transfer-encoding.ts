// Content-Transfer-Encoding codecs (RFC 2045 section 6): quoted-printable and base64, tolerant decoders, 7-bit encoders.

/** RFC 2045 6.8 / 6.7: encoded lines are at most 76 characters (not counting CRLF). */
const MAX_ENCODED_LINE = 76;

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Reverse table: byte -> 6-bit value, or -1 for characters RFC 2045 6.8 says to ignore. */
const B64_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < B64_ALPHABET.length; i++) B64_VALUE[B64_ALPHABET.charCodeAt(i)] = i;
// RFC 4648 section 5 (base64url) letters show up in broken mail; accepting them costs nothing.
B64_VALUE['-'.charCodeAt(0)] = 62;
B64_VALUE['_'.charCodeAt(0)] = 63;

/**
 * Decodes base64, ignoring every character outside the alphabet (RFC 2045 6.8: "Any characters outside
 * of the base64 alphabet are to be ignored") and stopping at '=' padding. Missing padding is tolerated.
 */
export function decodeBase64(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(Math.floor((input.length * 3) / 4) + 3);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as number;
    if (c === 0x3d) {
      // '=' ends the data; RFC 2045 6.8 says anything after it in the same unit is padding. Mail that
      // concatenated several base64 blobs keeps going after padding, so only drop the partial quantum.
      acc = 0;
      bits = 0;
      continue;
    }
    const v = B64_VALUE[c] as number;
    if (v < 0) continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  return out.subarray(0, n);
}

/** Encodes as base64 in lines of 76 characters separated by CRLF (RFC 2045 6.8); ends with CRLF unless empty. */
export function encodeBase64Lines(data: Uint8Array): string {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += MAX_ENCODED_LINE) out += b64.slice(i, i + MAX_ENCODED_LINE) + '\r\n';
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57; // lower case: RFC 2045 6.7 says a robust decoder accepts it
  return -1;
}

/**
 * Decodes quoted-printable (RFC 2045 6.7). Soft line breaks ('=' at the end of a line, also before bare LF)
 * are removed; trailing white space on a line is dropped as rule (3) requires; a malformed '=' sequence is
 * kept literally, as the RFC's note on robust implementations suggests. Line endings are kept as written.
 */
export function decodeQuotedPrintable(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let n = 0;
  let i = 0;
  const len = input.length;
  while (i < len) {
    const c = input[i] as number;
    if (c === 0x3d) {
      // '=' followed by optional trailing white space then a line break: soft line break.
      let j = i + 1;
      while (j < len && (input[j] === 0x20 || input[j] === 0x09)) j++;
      if (j < len && input[j] === 0x0d && input[j + 1] === 0x0a) {
        i = j + 2;
        continue;
      }
      if (j < len && input[j] === 0x0a) {
        i = j + 1;
        continue;
      }
      if (j >= len) {
        i = len; // '=' at the very end: a soft break before end of data
        continue;
      }
      const h = i + 2 < len ? hexValue(input[i + 1] as number) : -1;
      const l = i + 2 < len ? hexValue(input[i + 2] as number) : -1;
      if (h >= 0 && l >= 0) {
        out[n++] = (h << 4) | l;
        i += 3;
        continue;
      }
      out[n++] = c;
      i++;
      continue;
    }
    if (c === 0x20 || c === 0x09) {
      // Rule (3): white space at the end of an encoded line was added by a transport; drop it.
      let j = i;
      while (j < len && (input[j] === 0x20 || input[j] === 0x09)) j++;
      if (j >= len || input[j] === 0x0a || (input[j] === 0x0d && input[j + 1] === 0x0a)) {
        i = j;
        continue;
      }
      while (i < j) out[n++] = input[i++] as number;
      continue;
    }
    out[n++] = c;
    i++;
  }
  return out.subarray(0, n);
}

/**
 * Encodes as quoted-printable (RFC 2045 6.7). CRLF in the input is a hard line break; bare CR and bare LF,
 * every 8-bit byte, '=' and white space before a break are encoded, so decoding gives back the exact bytes.
 * Lines are soft-broken at 76 characters. Output is 7-bit and every line ends in CRLF unless input is empty.
 */
export function encodeQuotedPrintable(data: Uint8Array): string {
  const parts: string[] = [];
  let line = '';
  const flush = (soft: boolean): void => {
    parts.push(line + (soft ? '=\r\n' : '\r\n'));
    line = '';
  };
  const put = (token: string): void => {
    // Room for the token plus a possible soft-break '=' (rule 5).
    if (line.length + token.length > MAX_ENCODED_LINE - 1) flush(true);
    line += token;
  };
  const len = data.length;
  for (let i = 0; i < len; i++) {
    const c = data[i] as number;
    const isCrlf = c === 0x0d && data[i + 1] === 0x0a;
    if (isCrlf) {
      // Rule (3): trailing white space before a hard break must be encoded.
      const last = line.charCodeAt(line.length - 1);
      if (last === 0x20 || last === 0x09) {
        line = line.slice(0, -1);
        put(last === 0x20 ? '=20' : '=09');
      }
      flush(false);
      i++;
      continue;
    }
    const literal = (c >= 33 && c <= 126 && c !== 0x3d) || c === 0x20 || c === 0x09;
    // A line starting with '.' is safe over SMTP (dot-stuffing) but some agents mangle it: encode the dot.
    const dotAtStart = c === 0x2e && line.length === 0;
    if (literal && !dotAtStart) put(String.fromCharCode(c));
    else put('=' + (c < 16 ? '0' : '') + c.toString(16).toUpperCase());
  }
  if (line.length > 0) {
    const last = line.charCodeAt(line.length - 1);
    if (last === 0x20 || last === 0x09) {
      line = line.slice(0, -1);
      put(last === 0x20 ? '=20' : '=09');
    }
    // The data did not end in a line break: end with a soft break so decoding adds none.
    flush(true);
  }
  return parts.join('');
}

/** Decodes a body according to its Content-Transfer-Encoding; identity for 7bit/8bit/binary and unknown values. */
export function decodeTransferEncoding(body: Uint8Array, encoding: string): Buffer {
  const enc = encoding.trim().toLowerCase();
  if (enc === 'base64') return decodeBase64(body);
  if (enc === 'quoted-printable') return decodeQuotedPrintable(body);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
