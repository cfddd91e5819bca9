// Mailbox names: modified UTF-7 (RFC 3501 5.1.3) vs UTF-8 (RFC 9051 5.1, RFC 6855), INBOX case, validation, LIST patterns.
import { ImapSyntaxError } from './types.js';

/** Our hierarchy delimiter (announced in LIST and NAMESPACE replies). */
export const DELIMITER = '/';

/** Longest mailbox name we accept, in UTF-16 code units: enough for any client, bounds the LIST matcher. */
export const MAX_MAILBOX_NAME_LENGTH = 1000;
/** Deepest hierarchy accepted. */
export const MAX_MAILBOX_DEPTH = 64;

/** No lone UTF-16 surrogates (String.prototype.isWellFormed is ES2024, past our lib setting). */
function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/**
 * Encodes a Unicode name as modified UTF-7 (RFC 3501 5.1.3): printable US-ASCII except "&"
 * stands for itself, "&" becomes "&-", and runs of other characters become "&" + modified
 * BASE64 (with "," for "/", no padding) of their UTF-16BE + "-".
 */
export function encodeModifiedUtf7(name: string): string {
  let out = '';
  let run: number[] = [];
  const flush = (): void => {
    if (run.length === 0) return;
    const bytes: number[] = [];
    for (const u of run) bytes.push(u >> 8, u & 0xff);
    let bits = 0;
    let acc = 0;
    out += '&';
    for (const b of bytes) {
      acc = (acc << 8) | b;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        out += B64[(acc >> bits) & 0x3f];
      }
      acc &= (1 << bits) - 1;
    }
    if (bits > 0) out += B64[(acc << (6 - bits)) & 0x3f];
    out += '-';
    run = [];
  };
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u >= 0x20 && u <= 0x7e) {
      flush();
      out += u === 0x26 ? '&-' : name[i];
    } else {
      run.push(u);
    }
  }
  flush();
  return out;
}

/**
 * Decodes modified UTF-7, strictly: RFC 3501 5.1.3 forbids encoding printable ASCII, requires
 * the shortest form, and non-zero padding bits or lone surrogates mean a broken client. Throws
 * ImapSyntaxError so the reply can name the problem.
 */
export function decodeModifiedUtf7(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new ImapSyntaxError('Mailbox name is not valid modified UTF-7');
    if (c !== 0x26) {
      out += text[i];
      i++;
      continue;
    }
    const end = text.indexOf('-', i + 1);
    if (end < 0) throw new ImapSyntaxError('Unterminated modified UTF-7 sequence');
    if (end === i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    let acc = 0;
    let bits = 0;
    const units: number[] = [];
    const bytes: number[] = [];
    for (let j = i + 1; j < end; j++) {
      const v = B64_INDEX.get(text[j] as string);
      if (v === undefined) throw new ImapSyntaxError('Invalid modified BASE64 in mailbox name');
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes.push((acc >> bits) & 0xff);
        acc &= (1 << bits) - 1;
      }
    }
    if (acc !== 0 || bits >= 6 || bytes.length % 2 !== 0) {
      throw new ImapSyntaxError('Invalid modified UTF-7 padding in mailbox name');
    }
    for (let k = 0; k < bytes.length; k += 2)
      units.push(((bytes[k] as number) << 8) | (bytes[k + 1] as number));
    const decoded = String.fromCharCode(...units);
    if (!isWellFormed(decoded) || /[\x20-\x7e]/.test(decoded)) {
      throw new ImapSyntaxError('Mailbox name is not valid modified UTF-7');
    }
    out += decoded;
    i = end + 1;
    // RFC 3501 5.1.3: two adjacent encoded runs must be one run ("&AOQ-&AOQ-" is not canonical).
    if (text[i] === '&' && text[i + 1] !== '-') throw new ImapSyntaxError('Non-canonical modified UTF-7');
  }
  return out;
}

/**
 * "INBOX" in any case names the inbox (RFC 9051 5.1); so do its children's prefixes, which
 * keeps `inbox/Lists` and `INBOX/Lists` the same mailbox.
 */
export function normaliseInbox(name: string): string {
  if (name.length < 5 || name.slice(0, 5).toUpperCase() !== 'INBOX') return name;
  if (name.length === 5) return 'INBOX';
  return name[5] === DELIMITER ? 'INBOX' + name.slice(5) : name;
}

/**
 * A mailbox name as sent -> its Unicode name: with UTF-8 names in force (IMAP4rev2 or
 * UTF8=ACCEPT, RFC 9051 5.1 / RFC 6855 3) the text is the name; otherwise it is modified UTF-7.
 */
export function decodeMailboxName(wire: string, utf8Names: boolean): string {
  return normaliseInbox(utf8Names ? wire : decodeModifiedUtf7(wire));
}

/** A Unicode name -> its wire form for the session's mode. */
export function encodeMailboxName(name: string, utf8Names: boolean): string {
  return utf8Names ? name : encodeModifiedUtf7(name);
}

/**
 * Why a name cannot be created, or null if it can: empty levels, leading/trailing delimiter,
 * control characters, LIST wildcards (they would make the name unlistable), too long or deep.
 */
export function mailboxNameProblem(name: string): string | null {
  if (name.length === 0) return 'Mailbox name is empty';
  if (name.length > MAX_MAILBOX_NAME_LENGTH) return 'Mailbox name is too long';
  if (/[\x00-\x1f\x7f]/.test(name)) return 'Mailbox name contains control characters';
  if (/[*%]/.test(name)) return 'Mailbox name contains "*" or "%"';
  if (!isWellFormed(name)) return 'Mailbox name is not valid Unicode';
  const levels = name.split(DELIMITER);
  if (levels.some((l) => l.length === 0)) return 'Mailbox name has an empty hierarchy level';
  if (levels.length > MAX_MAILBOX_DEPTH) return 'Mailbox name is nested too deeply';
  return null;
}

/**
 * reference + pattern as RFC 9051 6.3.9 describes: the reference is a prefix; when it ends
 * with the delimiter and the pattern starts with it, one delimiter is dropped (as Dovecot does).
 */
export function combineListPattern(reference: string, pattern: string): string {
  if (reference === '') return pattern;
  if (reference.endsWith(DELIMITER) && pattern.startsWith(DELIMITER)) return reference + pattern.slice(1);
  return reference + pattern;
}

/** A compiled LIST pattern; match() is O(name length x pattern length), never exponential. */
export interface ListMatcher {
  match(name: string): boolean;
}

type PatternPart = { kind: 'char'; c: string } | { kind: 'star' } | { kind: 'percent' };

/**
 * Compiles a LIST pattern (RFC 9051 6.3.9): "*" matches anything, "%" anything but the
 * delimiter. Runs an NFA over the pattern positions instead of backtracking, so hostile
 * patterns like "*a*a*a*a*b" cost a bounded product, not an exponential.
 */
export function compileListPattern(pattern: string): ListMatcher {
  const p = normaliseInbox(pattern);
  const parts: PatternPart[] = [];
  for (const c of p) {
    const prev = parts[parts.length - 1];
    if (c === '*') {
      // "*" subsumes an adjacent "%" or "*".
      if (prev && prev.kind !== 'char') parts[parts.length - 1] = { kind: 'star' };
      else parts.push({ kind: 'star' });
    } else if (c === '%') {
      if (!prev || prev.kind === 'char') parts.push({ kind: 'percent' });
    } else {
      parts.push({ kind: 'char', c });
    }
  }
  const m = parts.length;
  return {
    match(raw: string): boolean {
      const name = normaliseInbox(raw);
      let cur = new Uint8Array(m + 1);
      let nxt = new Uint8Array(m + 1);
      cur[0] = 1;
      closure(cur);
      for (const c of name) {
        nxt.fill(0);
        let any = false;
        for (let s = 0; s < m; s++) {
          if (!cur[s]) continue;
          const part = parts[s] as PatternPart;
          if (part.kind === 'star' || (part.kind === 'percent' && c !== DELIMITER)) {
            nxt[s] = 1;
            any = true;
          } else if (part.kind === 'char' && part.c === c) {
            nxt[s + 1] = 1;
            any = true;
          }
        }
        if (!any) return false;
        closure(nxt);
        [cur, nxt] = [nxt, cur];
      }
      return cur[m] === 1;
    },
  };

  /** Wildcards may match nothing: a state at a wildcard also stands at the next position. */
  function closure(states: Uint8Array): void {
    for (let s = 0; s < m; s++) {
      if (states[s] && (parts[s] as PatternPart).kind !== 'char') states[s + 1] = 1;
    }
  }
}
