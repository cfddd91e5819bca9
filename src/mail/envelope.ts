// The IMAP ENVELOPE (RFC 9051 section 7.5.2) computed from a header block, and the RFC 5322 section 3.4
// address-list parser behind it (groups, routes, comments, obsolete forms, missing brackets).
import { decodeEncodedWords } from './encoded-words.js';
import type { HeaderMap } from './headers.js';

/** One address as IMAP shows it: a group start has only `mailbox` (the group name), a group end is all null. */
export interface EnvelopeAddress {
  /** Display name, raw: encoded words are left for the client to decode (RFC 9051 7.5.2). */
  name: string | null;
  /** Source route (obsolete, RFC 5322 4.4), e.g. "@a.test,@b.test". */
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

/** RFC 9051 7.5.2: every field NIL (null) when the header is absent. */
export interface MessageEnvelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[] | null;
  sender: EnvelopeAddress[] | null;
  replyTo: EnvelopeAddress[] | null;
  to: EnvelopeAddress[] | null;
  cc: EnvelopeAddress[] | null;
  bcc: EnvelopeAddress[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

/** Host used when an address has no domain: IMAP reserves NIL host for group markers, so it cannot be null. */
export const MISSING_HOST = 'MISSING_DOMAIN';

type Tok =
  | { k: 'atom'; t: string }
  | { k: 'quoted'; t: string }
  | { k: 'comment'; t: string }
  | { k: 'angle'; t: string }
  | { k: 'special'; t: string };

/** Tokenizes an address header value (RFC 5322 3.2): one pass, so hostile input costs linear time. */
function tokenize(s: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s[i] as string;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '"') {
      let t = '';
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < n) i++; // quoted-pair (3.2.1)
        t += s[i];
        i++;
      }
      i++;
      toks.push({ k: 'quoted', t });
    } else if (c === '(') {
      let depth = 1;
      let t = '';
      i++;
      while (i < n && depth > 0) {
        const d = s[i] as string;
        if (d === '\\' && i + 1 < n) {
          t += s[i + 1];
          i += 2;
          continue;
        }
        if (d === '(') depth++;
        else if (d === ')') depth--;
        if (depth > 0) t += d;
        i++;
      }
      toks.push({ k: 'comment', t: t.trim() });
    } else if (c === '<') {
      // An angle-addr; quoted strings inside it may hold '>'. Taken as one slice (every character is kept):
      // it was built a character at a time, a string per character, on every delivered message's From and To.
      i++;
      const from = i;
      let quoted = false;
      while (i < n && (quoted || s.charCodeAt(i) !== 0x3e)) {
        if (s.charCodeAt(i) === 0x22) quoted = !quoted;
        i++;
      }
      toks.push({ k: 'angle', t: s.slice(from, i) });
      i++;
    } else if (c === ',' || c === ';' || c === ':' || c === '@' || c === '>') {
      toks.push({ k: 'special', t: c });
      i++;
    } else if (c === '[') {
      // domain-literal (3.4.1): kept whole, brackets included
      const end = s.indexOf(']', i);
      const stop = end < 0 ? n : end + 1;
      toks.push({ k: 'atom', t: s.slice(i, stop) });
      i = stop;
    } else {
      // atext plus '.', which obs-phrase (4.1) allows in display names.
      let j = i;
      while (j < n && !' \t\r\n"(<,;:@>['.includes(s[j] as string)) j++;
      if (j === i) j++;
      toks.push({ k: 'atom', t: s.slice(i, j) });
      i = j;
    }
  }
  return toks;
}

function text(t: Tok): string {
  return t.t;
}

/** Splits "local@domain" at the last '@' outside quotes; a quoted local part loses its quotes. */
function splitAddrSpec(spec: string): { mailbox: string | null; host: string | null } {
  const toks = tokenize(spec).filter((t) => t.k !== 'comment');
  let at = -1;
  for (let k = toks.length - 1; k >= 0; k--) {
    const tk = toks[k] as Tok;
    if (tk.k === 'special' && tk.t === '@') {
      at = k;
      break;
    }
  }
  const local = (at < 0 ? toks : toks.slice(0, at)).map(text).join('');
  const host =
    at < 0
      ? ''
      : toks
          .slice(at + 1)
          .map(text)
          .join('');
  if (local === '' && host === '') return { mailbox: null, host: null };
  return { mailbox: local, host: host === '' ? MISSING_HOST : host };
}

function mailboxFrom(toks: Tok[]): EnvelopeAddress | null {
  if (toks.length === 0) return null;
  const angleAt = toks.findIndex((t) => t.k === 'angle');
  const comments = toks.filter((t) => t.k === 'comment').map(text);
  if (angleAt >= 0) {
    // name-addr (3.4): phrase then <[route:]addr-spec>
    const phrase = toks
      .slice(0, angleAt)
      .filter((t) => t.k === 'atom' || t.k === 'quoted')
      .map(text)
      .join(' ');
    let inner = (toks[angleAt] as Tok).t.trim();
    let adl: string | null = null;
    // obs-route (4.4): "@a,@b:" before the addr-spec
    const route = /^(@[^:]*):(.*)$/s.exec(inner);
    if (route) {
      adl = (route[1] as string).replace(/\s+/g, '');
      inner = route[2] as string;
    }
    const { mailbox, host } = splitAddrSpec(inner);
    const name = phrase !== '' ? phrase : comments.length > 0 ? comments.join(' ') : null;
    if (mailbox === null) return name === null ? null : { name, adl, mailbox: '', host: MISSING_HOST };
    return { name, adl, mailbox, host };
  }
  // addr-spec without brackets. Real mail also has "Name addr@host" with the brackets missing: every word
  // before the one holding the local part is taken as the display name.
  const words = toks.filter((t) => t.k !== 'comment');
  const at = words.findIndex((t) => t.k === 'special' && t.t === '@');
  let nameWords: Tok[] = [];
  let spec = words;
  if (at > 1) {
    nameWords = words.slice(0, at - 1);
    spec = words.slice(at - 1);
  }
  const joined = spec.map((t) => (t.k === 'quoted' ? JSON.stringify(t.t) : t.t)).join('');
  const { mailbox, host } = splitAddrSpec(joined);
  if (mailbox === null) return null;
  const phrase = nameWords.map(text).join(' ');
  const name = phrase !== '' ? phrase : comments.length > 0 ? comments.join(' ') : null;
  return { name, adl: null, mailbox, host };
}

/** Upper bound on addresses taken from one header: a hostile header must not make a huge ENVELOPE. */
const MAX_ADDRESSES = 1000;

/**
 * Parses an address-list (RFC 5322 3.4) into IMAP envelope addresses. Groups become a start marker (mailbox =
 * group name, host NIL) and an end marker (all NIL), as RFC 9051 7.5.2 says. Never throws; garbage between
 * commas becomes whatever can be made of it, or nothing.
 */
export function parseAddressList(value: string): EnvelopeAddress[] {
  const toks = tokenize(value);
  const out: EnvelopeAddress[] = [];
  let cur: Tok[] = [];
  let inGroup = false;
  const flush = (): void => {
    const a = out.length < MAX_ADDRESSES ? mailboxFrom(cur) : null;
    if (a) out.push(a);
    cur = [];
  };
  for (const t of toks) {
    if (t.k === 'special' && t.t === ':' && !inGroup) {
      // group (3.4): display-name ":" [group-list] ";"
      const name = cur
        .filter((x) => x.k === 'atom' || x.k === 'quoted')
        .map(text)
        .join(' ');
      cur = [];
      out.push({ name: null, adl: null, mailbox: name, host: null });
      inGroup = true;
    } else if (t.k === 'special' && t.t === ';' && inGroup) {
      flush();
      out.push({ name: null, adl: null, mailbox: null, host: null });
      inGroup = false;
    } else if (t.k === 'special' && (t.t === ',' || t.t === ';')) {
      flush();
    } else cur.push(t);
  }
  flush();
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null }); // unterminated group
  return out;
}

/** A plain address with a decoded display name, for code that is not IMAP (DSNs, SEARCH, the queue). */
export interface SimpleAddress {
  name: string;
  address: string;
}

/** Flattens an address-list to mailboxes (group members included), display names decoded (RFC 2047). */
export function parseAddresses(value: string): SimpleAddress[] {
  return parseAddressList(value)
    .filter((a) => a.host !== null && a.mailbox !== null)
    .map((a) => ({
      name: a.name === null ? '' : decodeEncodedWords(a.name),
      address: a.host === MISSING_HOST ? (a.mailbox as string) : `${a.mailbox as string}@${a.host as string}`,
    }));
}

function addresses(headers: HeaderMap, name: string): EnvelopeAddress[] | null {
  const value = headers.get(name);
  if (value === undefined) return null;
  const list = parseAddressList(value);
  return list.length > 0 ? list : null;
}

/**
 * Builds the ENVELOPE of a message from its header (RFC 9051 7.5.2). Sender and Reply-To default to From when
 * absent or empty (RFC 3501 7.4.2 says so explicitly; RFC 9051 keeps the rule). Strings are the unfolded
 * header values, not decoded: IMAP clients decode encoded words themselves.
 */
export function buildEnvelope(headers: HeaderMap): MessageEnvelope {
  const from = addresses(headers, 'from');
  return {
    date: headers.get('date') ?? null,
    subject: headers.get('subject') ?? null,
    from,
    sender: addresses(headers, 'sender') ?? from,
    replyTo: addresses(headers, 'reply-to') ?? from,
    to: addresses(headers, 'to'),
    cc: addresses(headers, 'cc'),
    bcc: addresses(headers, 'bcc'),
    inReplyTo: headers.get('in-reply-to') ?? null,
    messageId: headers.get('message-id') ?? null,
  };
}
