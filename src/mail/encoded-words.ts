// RFC 2047 encoded words: a tolerant decoder for what real mail contains, an encoder for header fields we write,
// and the charset decoding both share (TextDecoder, so every WHATWG charset label works).
import { TextDecoder } from 'node:util';

const decoders = new Map<string, TextDecoder | null>();

/** Charset labels seen in the wild that WHATWG does not know under that name. */
const CHARSET_ALIASES: Record<string, string> = {
  utf8: 'utf-8',
  'x-utf-8': 'utf-8',
  'unicode-1-1-utf-8': 'utf-8',
  latin1: 'iso-8859-1',
  ascii: 'us-ascii',
  cp1252: 'windows-1252',
  'ks_c_5601-1987': 'euc-kr',
  ansi_x3_4_1968: 'us-ascii',
  '646': 'us-ascii',
};

function decoderFor(charset: string): TextDecoder | null {
  const label = charset.trim().toLowerCase();
  const cached = decoders.get(label);
  if (cached !== undefined) return cached;
  let dec: TextDecoder | null = null;
  try {
    dec = new TextDecoder(CHARSET_ALIASES[label] ?? label);
  } catch {
    dec = null; // unknown label: callers keep the raw text rather than guess
  }
  if (decoders.size < 256) decoders.set(label, dec); // bounded: labels come from hostile input
  return dec;
}

/** Decodes bytes in a MIME charset (RFC 2046 4.1.2); undefined when the charset is unknown. */
export function decodeCharset(bytes: Uint8Array, charset: string): string | undefined {
  const dec = decoderFor(charset);
  return dec ? dec.decode(bytes) : undefined;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) >= 0x80) return false;
  return true;
}

/**
 * Decodes raw header bytes: UTF-8 when they are valid UTF-8 (RFC 6532 allows it), else latin1 - the usual
 * guess for an undeclared 8-bit header, and lossless: every byte maps to one code point.
 */
export function decodeHeaderBytes(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isAscii(bytes)) return buf.toString('latin1');
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return buf.toString('latin1');
  }
}

/** RFC 2047 section 4.2: Q encoding is quoted-printable with '_' for space. Tolerant of bad '=' sequences. */
function decodeQ(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) out[n++] = 0x20;
    else if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[n++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else out[n++] = c & 0xff;
  }
  return out.subarray(0, n);
}

function decodeB(text: string): Buffer {
  return Buffer.from(text.replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
}

// RFC 2047 section 2: =?charset?encoding?encoded-text?= ; RFC 2231 section 5 adds an optional *language.
// Real mail puts spaces and '?' where they do not belong, so the text part stops only at '?='. Its length is
// capped so that a hostile header with many unterminated words costs linear time, not quadratic.
const ENCODED_WORD = /=\?([^?\s*]{1,64})(?:\*[^?\s]{0,64})?\?([bBqQ])\?(.{0,2000}?)\?=/g;

interface Piece {
  charset: string;
  bytes: Buffer;
}

/**
 * Decodes every encoded word in a header value (RFC 2047 section 6). White space between two adjacent encoded
 * words is dropped (6.2). Adjacent words in the same charset are joined before charset decoding, because
 * real senders split one multi-byte character across two words. Words in an unknown charset stay as written.
 * Also decodes words that touch other text or sit inside quotes, which the RFC forbids and real mail does.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  let out = '';
  // Held in an object so the closure below and the loop see one variable (TS narrows plain lets per scope).
  const st: { pending: Piece | null } = { pending: null };
  let last = 0;
  const flush = (): void => {
    if (st.pending) {
      out += decodeCharset(st.pending.bytes, st.pending.charset) ?? '';
      st.pending = null;
    }
  };
  ENCODED_WORD.lastIndex = 0;
  for (let m = ENCODED_WORD.exec(value); m; m = ENCODED_WORD.exec(value)) {
    const [whole, charset = '', enc = '', text = ''] = m;
    const gap = value.slice(last, m.index);
    const known = decoderFor(charset) !== null;
    const adjacent = st.pending !== null && /^[ \t\r\n]*$/.test(gap);
    if (!adjacent) {
      flush();
      out += gap;
    }
    last = m.index + whole.length;
    if (!known) {
      if (adjacent) {
        flush();
        out += gap;
      }
      out += whole;
      continue;
    }
    const bytes = enc === 'b' || enc === 'B' ? decodeB(text) : decodeQ(text);
    const prev = st.pending;
    if (prev !== null && prev.charset.toLowerCase() === charset.toLowerCase()) {
      st.pending = { charset, bytes: Buffer.concat([prev.bytes, bytes]) };
    } else {
      flush();
      st.pending = { charset, bytes };
    }
  }
  flush();
  return out + value.slice(last);
}

// RFC 2047 section 5 (3): the characters allowed unencoded in a Q word that may appear in a phrase.
const Q_SAFE = /[A-Za-z0-9!*+\-/]/;
/** RFC 2047 section 2: an encoded word is at most 75 characters. */
const MAX_WORD = 75;

function encodeWordsUtf8(text: string): string[] {
  const asciiShare = text.replace(/[^\x20-\x7e]/g, '').length / Math.max(1, text.length);
  const useQ = asciiShare > 0.6;
  const prefix = useQ ? '=?UTF-8?Q?' : '=?UTF-8?B?';
  const room = MAX_WORD - prefix.length - 2;
  const words: string[] = [];
  let cur = '';
  let curBytes: number[] = [];
  const emit = (): void => {
    if (useQ ? cur.length === 0 : curBytes.length === 0) return;
    words.push(prefix + (useQ ? cur : Buffer.from(curBytes).toString('base64')) + '?=');
    cur = '';
    curBytes = [];
  };
  // Iterate by code point so no word splits a character (RFC 2047 section 5: each word must be decodable alone).
  for (const ch of text) {
    const bytes = Buffer.from(ch, 'utf8');
    if (useQ) {
      let enc = '';
      for (const b of bytes) {
        const c = String.fromCharCode(b);
        enc += b === 0x20 ? '_' : Q_SAFE.test(c) ? c : '=' + b.toString(16).toUpperCase().padStart(2, '0');
      }
      if (cur.length + enc.length > room) emit();
      cur += enc;
    } else {
      if (Math.ceil((curBytes.length + bytes.length) / 3) * 4 > room) emit();
      curBytes.push(...bytes);
    }
  }
  emit();
  return words;
}

function needsEncoding(word: string): boolean {
  return /[^\x20-\x7e]/.test(word) || word.includes('=?');
}

/**
 * Encodes unstructured header text (RFC 2047 section 5 (1): Subject, Comments, Content-Description, X- fields)
 * so that it is 7-bit. Runs of words that need it become UTF-8 encoded words; plain words stay readable. The
 * result is a single line with spaces where folding may happen (see foldHeaderField).
 */
export function encodeHeaderText(text: string): string {
  if (!needsEncoding(text)) return text;
  const tokens = text.split(/([ \t]+)/);
  const out: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    const tok = tokens[i] as string;
    if (i % 2 === 1 || !needsEncoding(tok)) {
      out.push(tok);
      i++;
      continue;
    }
    // Collect a run of words needing encoding, with the spaces between them (they would be lost otherwise:
    // RFC 2047 6.2 drops white space between adjacent encoded words).
    let run = tok;
    let j = i + 1;
    while (j + 1 < tokens.length && needsEncoding(tokens[j + 1] as string)) {
      run += (tokens[j] as string) + (tokens[j + 1] as string);
      j += 2;
    }
    out.push(encodeWordsUtf8(run).join(' '));
    i = j;
  }
  return out.join('');
}

/** Encodes a display name (RFC 2047 section 5 (3)) as encoded words when it is not plain ASCII. */
export function encodePhrase(text: string): string {
  if (!needsEncoding(text)) return text;
  return encodeWordsUtf8(text).join(' ');
}
