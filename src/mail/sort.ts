// One sort engine: RFC 5256 SORT criteria (+ RFC 5957 DISPLAYFROM/DISPLAYTO) over a small sortable record, for IMAP and JMAP. Pure.
import { asciiCasemapKey, extractBaseSubject } from './base-subject.js';
import { MISSING_HOST, parseAddressList } from './envelope.js';
import { MONTHS, parseRfc5322Date } from './headers.js';

/**
 * What a message is sorted by. IMAP SORT (RFC 5256 3) names ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO;
 * RFC 5957 adds DISPLAYFROM and DISPLAYTO. JMAP Email/query (RFC 8621 4.4.2) maps onto the same keys:
 * receivedAt = arrival, sentAt = date, size, subject, from = displayfrom, to = displayto, and
 * hasKeyword = keyword.
 */
export type SortKey =
  'arrival' | 'cc' | 'date' | 'from' | 'size' | 'subject' | 'to' | 'displayfrom' | 'displayto';

export type SortCriterion =
  { key: SortKey; reverse: boolean } | { key: 'keyword'; keyword: string; reverse: boolean };

/**
 * The sortable record of one message: only the keys the criteria need are filled (others stay '' or 0),
 * strings already in collation form (asciiCasemapKey), so a comparison is a few number and string tests.
 */
export interface SortableMessage {
  /** The message's place in its mailbox (IMAP sequence number): the final tie-break (RFC 5256 3). */
  order: number;
  /** INTERNALDATE / receivedAt, epoch ms. */
  arrival: number;
  /** The sent date of RFC 5256 2.2: the Date header, else the arrival time. Epoch ms. */
  date: number;
  size: number;
  subject: string;
  from: string;
  to: string;
  cc: string;
  displayfrom: string;
  displayto: string;
  /** Keywords (flags) for a `keyword` criterion, compared as given (callers pass lower case). */
  keywords: ReadonlySet<string> | null;
}

/** What a record is made from: the facts every store has, and a lookup of decoded header values. */
export interface MessageFacts {
  order: number;
  arrival: number;
  size: number;
  /** The first value of a header field (name in lower case), unfolded and RFC 2047-decoded; undefined if absent. */
  header(name: string): string | undefined;
  keywords?: ReadonlySet<string>;
}

/** The RFC 5322 3.3 form nearly every Date header has: [day ","] d mon yyyy hh:mm[:ss] +zzzz. */
const CANONICAL_DATE =
  /^(?:[a-z]{3}, ?)?(\d{1,2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? ([+-])(\d{2})(\d{2})$/i;

/**
 * parseRfc5322Date's result for the canonical form, without its normalising passes (comments, folding,
 * obsolete forms): a DATE sort or a THREAD parses every message's Date, and the general parser was a
 * quarter of a 10,000-message SORT. Null for anything else, which then goes to the general parser.
 */
function canonicalDate(value: string): number | null {
  const m = CANONICAL_DATE.exec(value);
  if (!m) return null;
  const month = MONTHS[(m[2] as string).toLowerCase()];
  const day = Number(m[1]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month === undefined || day < 1 || hour > 23 || minute > 59 || second > 60) return null;
  const year = Number(m[3]);
  // "31 Feb" is no date (parseRfc5322Date refuses it too).
  if (new Date(Date.UTC(year, month, day)).getUTCDate() !== day) return null;
  const offset = (Number(m[8]) * 60 + Number(m[9])) * (m[7] === '-' ? -1 : 1);
  return Date.UTC(year, month, day, hour, minute, second) - offset * 60_000;
}

/**
 * RFC 5256 2.2: the sent date is the Date header's date-time in UTC; when it is missing or cannot be
 * parsed, the INTERNALDATE is used.
 */
export function sentDate(dateHeader: string | undefined, arrival: number): number {
  if (dateHeader === undefined) return arrival;
  const fast = canonicalDate(dateHeader);
  if (fast !== null) return fast;
  const d = parseRfc5322Date(dateHeader);
  return d === null ? arrival : d.getTime();
}

/**
 * The first address of an address header, as RFC 5256 3 sorts it: its addr-mailbox (the local part, not
 * the domain); with `display` RFC 5957 3's display form: the display name when there is a non-empty one,
 * else the addr-spec (mailbox@host). A group comes first as its start marker, the address structure whose
 * addr-mailbox is the group name (RFC 3501 7.4.2 / RFC 9051 7.5.2): the group name is the key in both
 * forms (Dovecot; imaptest sort-addresses, sort-display-to). End markers are skipped; no address gives "".
 */
export function firstAddressKey(value: string | undefined, display: boolean): string {
  if (value === undefined) return '';
  for (const a of parseAddressList(value)) {
    if (a.mailbox === null) continue; // group end marker
    if (a.host === null) return a.mailbox; // group start marker: the group name
    if (!display) return a.mailbox;
    const name = a.name?.trim() ?? '';
    if (name !== '') return name;
    return a.host === MISSING_HOST ? a.mailbox : `${a.mailbox}@${a.host}`;
  }
  return '';
}

/** The keys a list of criteria reads, so building records computes nothing else. */
export function keysOf(criteria: readonly SortCriterion[]): Set<SortKey | 'keyword'> {
  return new Set(criteria.map((c) => c.key));
}

/** Builds the sortable record of one message with the fields `keys` need (RFC 5256 3 for each). */
export function sortableMessage(f: MessageFacts, keys: ReadonlySet<SortKey | 'keyword'>): SortableMessage {
  const m: SortableMessage = {
    order: f.order,
    arrival: f.arrival,
    date: 0,
    size: f.size,
    subject: '',
    from: '',
    to: '',
    cc: '',
    displayfrom: '',
    displayto: '',
    keywords: f.keywords ?? null,
  };
  if (keys.has('date')) m.date = sentDate(f.header('date'), f.arrival);
  // A missing field sorts as the empty string (RFC 5256 3: "an empty string"), before any other.
  if (keys.has('subject')) m.subject = asciiCasemapKey(extractBaseSubject(f.header('subject') ?? '').subject);
  if (keys.has('from')) m.from = asciiCasemapKey(firstAddressKey(f.header('from'), false));
  if (keys.has('to')) m.to = asciiCasemapKey(firstAddressKey(f.header('to'), false));
  if (keys.has('cc')) m.cc = asciiCasemapKey(firstAddressKey(f.header('cc'), false));
  if (keys.has('displayfrom')) m.displayfrom = asciiCasemapKey(firstAddressKey(f.header('from'), true));
  if (keys.has('displayto')) m.displayto = asciiCasemapKey(firstAddressKey(f.header('to'), true));
  return m;
}

type Compare = (a: SortableMessage, b: SortableMessage) => number;

function one(c: SortCriterion): Compare {
  let cmp: Compare;
  if (c.key === 'keyword') {
    const kw = c.keyword;
    // JMAP hasKeyword (RFC 8621 4.4.2): ascending puts messages without the keyword first.
    cmp = (a, b) => (a.keywords?.has(kw) ? 1 : 0) - (b.keywords?.has(kw) ? 1 : 0);
  } else {
    const k = c.key;
    cmp = (a, b) => {
      const x = a[k];
      const y = b[k];
      return x < y ? -1 : x > y ? 1 : 0;
    };
  }
  return c.reverse ? (a, b) => cmp(b, a) : cmp;
}

/**
 * A comparator for the criteria, in order, then by `order` (RFC 5256 3: messages that match exactly on
 * every criterion "are sorted in the order in which they appear in the mailbox", whatever REVERSE says).
 */
export function compileSort(criteria: readonly SortCriterion[]): Compare {
  const parts = criteria.map(one);
  return (a, b) => {
    for (const p of parts) {
      const r = p(a, b);
      if (r !== 0) return r;
    }
    return a.order - b.order;
  };
}

/** Sorts records in place by the criteria (Array.prototype.sort is stable; the order tie-break makes it total). */
export function sortMessages<T extends SortableMessage>(
  messages: T[],
  criteria: readonly SortCriterion[],
): T[] {
  return messages.sort(compileSort(criteria));
}
