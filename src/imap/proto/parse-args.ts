// Argument readers shared by the IMAP command parsers: a cursor over tokens with astring, flag, date and number rules.
import { ImapSyntaxError } from './types.js';
import { parseSequenceSet } from './sequence-set.js';
import type { SequenceSet } from './sequence-set.js';
import type { ImapToken } from './tokenizer.js';
import type { ImapDateTime, SearchDate } from './command-types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 9051 9: ASTRING-CHAR = ATOM-CHAR / resp-specials; i.e. no "(" ")" "{" SP CTL "%" "*" DQUOTE "\". */
const ASTRING_ATOM = /^[^\x00-\x20\x7f-\xff(){%*"\\]+$/;
/** RFC 9051 9: atom (no "]"). */
const ATOM = /^[^\x00-\x20\x7f-\xff(){%*"\\\]]+$/;
/** RFC 9051 9: list-mailbox = 1*list-char / string; list-char = ATOM-CHAR / list-wildcards / resp-specials. */
const LIST_ATOM = /^[^\x00-\x20\x7f-\xff(){"\\]+$/;

/** System flags are case-insensitive (RFC 9051 2.3.2); we keep their canonical spelling. */
const SYSTEM_FLAGS = new Map(
  ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft', '\\Recent'].map((f) => [f.toLowerCase(), f]),
);

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Decodes string bytes as UTF-8 (RFC 9051 / RFC 6855); with `lenient`, invalid UTF-8 falls back to Latin-1. */
export function decodeBytes(bytes: Buffer, lenient = false): string {
  try {
    return utf8.decode(bytes);
  } catch {
    if (lenient) return bytes.toString('latin1');
    throw new ImapSyntaxError('String is not valid UTF-8');
  }
}

/** A cursor over a command's argument tokens. Every reader throws ImapSyntaxError naming what was expected. */
export class Args {
  private i = 0;
  constructor(
    private readonly tokens: readonly ImapToken[],
    /** Decode 8-bit literals leniently (SEARCH with a CHARSET other than UTF-8 is refused later, not here). */
    readonly lenient = false,
  ) {}

  more(): boolean {
    return this.i < this.tokens.length;
  }

  peek(): ImapToken | undefined {
    return this.tokens[this.i];
  }

  /** The next token's word in upper case if it is an atom, else null (does not consume). */
  peekWord(): string | null {
    const t = this.tokens[this.i];
    return t && t.type === 'atom' ? t.value.toUpperCase() : null;
  }

  take(what: string): ImapToken {
    const t = this.tokens[this.i];
    if (!t) throw new ImapSyntaxError(`Missing ${what}`);
    this.i++;
    return t;
  }

  end(): void {
    if (this.more()) throw new ImapSyntaxError('Unexpected extra arguments');
  }

  /** astring (RFC 9051 9): atom-ish word, number, NIL as text, quoted string or literal (not literal8). */
  astring(what: string): string {
    const t = this.take(what);
    return tokenAstring(t, what, this.lenient);
  }

  /** list-mailbox (RFC 9051 9): like astring but "%" and "*" allowed unquoted. */
  listMailbox(what: string): string {
    const t = this.take(what);
    if (t.type === 'atom') {
      if (!LIST_ATOM.test(t.value)) throw new ImapSyntaxError(`Invalid ${what}`);
      return t.value;
    }
    return tokenAstring(t, what, this.lenient);
  }

  /** An atom (a command keyword, capability name...), upper-cased. */
  keyword(what: string): string {
    const t = this.take(what);
    if (t.type !== 'atom' || !ATOM.test(t.value)) throw new ImapSyntaxError(`Invalid ${what}`);
    return t.value.toUpperCase();
  }

  /** A parenthesised list's items. */
  list(what: string): ImapToken[] {
    const t = this.take(what);
    if (t.type !== 'list') throw new ImapSyntaxError(`Expected a list for ${what}`);
    return t.items;
  }

  /** number (RFC 9051 9): 32-bit unsigned unless `max` says otherwise. */
  number(what: string, max = 4294967295): number {
    return tokenNumber(this.take(what), what, max);
  }

  modseq(what: string): number {
    return tokenModseq(this.take(what), what);
  }

  sequenceSet(what: string): SequenceSet {
    const t = this.take(what);
    if (t.type === 'number') return parseSequenceSet(t.raw);
    if (t.type === 'atom') return parseSequenceSet(t.value);
    throw new ImapSyntaxError(`Invalid ${what}`);
  }
}

export function tokenAstring(t: ImapToken, what: string, lenient = false): string {
  switch (t.type) {
    case 'atom':
      if (!ASTRING_ATOM.test(t.value)) throw new ImapSyntaxError(`Invalid ${what}`);
      return t.value;
    case 'number':
      return t.raw;
    case 'nil':
      return t.raw;
    case 'quoted':
      return t.value;
    case 'literal':
      if (t.binary) throw new ImapSyntaxError(`literal8 not allowed for ${what}`);
      if (!t.bytes) throw new ImapSyntaxError(`Invalid ${what}`);
      return decodeBytes(t.bytes, lenient);
    default:
      throw new ImapSyntaxError(`Invalid ${what}`);
  }
}

/** mod-sequence values are up to 2^63-1 (RFC 7162 7); we store them as safe integers, so cap there. */
export const MAX_MODSEQ = Number.MAX_SAFE_INTEGER;

/**
 * A mod-sequence value (RFC 7162 7: 1..2^63-1; "valzer" allows 0). Values above 2^53 are
 * clamped to MAX_MODSEQ: our modseqs never get there, so every comparison (CHANGEDSINCE,
 * UNCHANGEDSINCE, QRESYNC) gives the same answer as with the exact value.
 */
export function tokenModseq(t: ImapToken, what: string): number {
  const raw = t.type === 'number' ? t.raw : t.type === 'atom' ? t.value : '';
  if (!/^[0-9]{1,19}$/.test(raw) || BigInt(raw) > 9223372036854775807n) {
    throw new ImapSyntaxError(`Invalid mod-sequence for ${what}`);
  }
  return t.type === 'number' ? t.value : MAX_MODSEQ;
}

export function tokenNumber(t: ImapToken, what: string, max = 4294967295): number {
  if (t.type !== 'number') throw new ImapSyntaxError(`Expected a number for ${what}`);
  if (t.value > max) throw new ImapSyntaxError(`Number out of range for ${what}`);
  return t.value;
}

/** A flag (RFC 9051 9 "flag"): `\System` or keyword atom; system flags get canonical case. */
export function tokenFlag(t: ImapToken, allowRecent = false): string {
  if (t.type !== 'atom' && t.type !== 'nil' && t.type !== 'number') throw new ImapSyntaxError('Invalid flag');
  const v = t.type === 'atom' ? t.value : t.raw;
  const body = v.startsWith('\\') ? v.slice(1) : v;
  if (!ATOM.test(body)) throw new ImapSyntaxError('Invalid flag');
  if (v.startsWith('\\')) {
    const sys = SYSTEM_FLAGS.get(v.toLowerCase());
    // RFC 9051 2.3.2: \Recent is gone in rev2 and was never storable in rev1.
    if (sys === '\\Recent' && !allowRecent) throw new ImapSyntaxError('\\Recent cannot be set');
    return sys ?? v;
  }
  return v;
}

/** A flag list `(\Seen $Label)` or, where allowed (STORE), a bare space-separated list of flags. */
export function tokenFlagList(t: ImapToken): string[] {
  if (t.type !== 'list') throw new ImapSyntaxError('Expected a flag list');
  return t.items.map((f) => tokenFlag(f));
}

/** SEARCH date (RFC 9051 9 "date" = date-text / DQUOTE date-text DQUOTE; date-day = 1*2DIGIT). */
export function tokenSearchDate(t: ImapToken): SearchDate {
  const text = t.type === 'atom' ? t.value : t.type === 'quoted' ? t.value : null;
  const m = text === null ? null : /^([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})$/.exec(text);
  if (!m) throw new ImapSyntaxError('Invalid date');
  const day = Number(m[1]);
  const month = MONTHS.indexOf((m[2] as string).toLowerCase()) + 1;
  const year = Number(m[3]);
  if (month === 0 || !validDay(year, month, day)) throw new ImapSyntaxError('Invalid date');
  return { year, month, day };
}

function validDay(year: number, month: number, day: number): boolean {
  if (day < 1) return false;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= last;
}

/**
 * APPEND date-time (RFC 9051 9): DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone
 * DQUOTE, e.g. "17-Jul-1996 02:44:25 -0700"; date-day-fixed is (SP DIGIT) / 2DIGIT. Returns the
 * instant and the zone it was written in: the zone is kept, since FETCH INTERNALDATE shows it back and
 * SEARCH BEFORE/ON/SINCE compare the date in it (RFC 9051 2.3.3, 6.4.4).
 */
export function parseDateTime(text: string): ImapDateTime {
  const m =
    /^([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})$/.exec(
      text,
    );
  if (!m) throw new ImapSyntaxError('Invalid date-time');
  const day = Number((m[1] as string).trim());
  const month = MONTHS.indexOf((m[2] as string).toLowerCase()) + 1;
  const year = Number(m[3]);
  const [hh, mm, ss, zh, zm] = [m[4], m[5], m[6], m[8], m[9]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (month === 0 || !validDay(year, month, day) || hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59) {
    throw new ImapSyntaxError('Invalid date-time');
  }
  // "-0000" is read as +0000: RFC 5322 3.3 gives it the meaning "no local zone known", which an
  // internal date has no use for, and the instant is the same.
  const offset = (m[7] === '-' ? -1 : 1) * (zh * 60 + zm) || 0;
  return { ms: Date.UTC(year, month - 1, day, hh, mm, ss) - offset * 60_000, offsetMinutes: offset };
}
