// Email/query's engine (RFC 8621 4.4): filters an account's Emails by a filter tree and sorts them (mail/sort.ts keys), reading as little as it can.
import { JMAP_QUERY_LIMITS } from '../../config/limits.js';
import { firstAddressKey, sentDate } from '../../mail/sort.js';
import { extractBaseSubject } from '../../mail/base-subject.js';
import type { EmailRecord } from '../../store/jmap-store.js';
import { headerIndexValues, type HeaderIndex } from '../../store/mail-store.js';
import type { EmailContent } from './email-content.js';
import type { EmailComparator, EmailCondition, EmailFilter } from './email-filter.js';

/** Where the engine gets what records do not carry; the handler passes the store's (tests pass tables). */
export interface SearchSources {
  /** Header indexes (MailStore.searchHeaders) of stored messages, in order; null when gone. */
  headers(messageIds: readonly number[]): Promise<Array<HeaderIndex | null>>;
  /** Body text and attachments of one message (email-content.ts loadContent); null when gone. */
  content(messageId: number): Promise<EmailContent | null>;
}

/** One Email while a query runs: the record plus what was loaded for it. */
interface Candidate {
  rec: EmailRecord;
  keywords: ReadonlySet<string>;
  /** undefined: not loaded yet; null: the message is gone (matches no content condition). */
  headers: HeaderIndex | null | undefined;
  content: EmailContent | null | undefined;
}

/** Three-valued result while some of a candidate is not loaded yet. */
type Tri = boolean | undefined;

/**
 * The search terms of a text-like condition: words, or "quoted phrases", lower case; every term must
 * appear (RFC 8621 4.4.1 leaves matching to the server; this is what Fastmail's and Stalwart's do for
 * plain words). SearchSnippet/get highlights the same terms.
 */
export function searchTerms(text: string): string[] {
  const terms: string[] = [];
  for (const m of text.matchAll(/"([^"]*)"|(\S+)/g)) {
    const t = (m[1] ?? m[2] ?? '').trim().toLowerCase();
    if (t !== '') terms.push(t);
  }
  return terms;
}

const allIn = (haystack: string, terms: readonly string[]): boolean =>
  terms.every((t) => haystack.includes(t));

const ADDRESS_FIELDS = ['from', 'to', 'cc', 'bcc'] as const;

/** Per thread: how many Emails, and how many have each keyword the query's thread conditions name. */
export class ThreadKeywords {
  private readonly sizes = new Map<string, number>();
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(all: readonly EmailRecord[], keywords: ReadonlySet<string>) {
    for (const e of all) {
      this.sizes.set(e.threadId, (this.sizes.get(e.threadId) ?? 0) + 1);
      for (const k of e.keywords) {
        if (!keywords.has(k)) continue;
        let m = this.counts.get(k);
        if (!m) this.counts.set(k, (m = new Map()));
        m.set(e.threadId, (m.get(e.threadId) ?? 0) + 1);
      }
    }
  }

  all(threadId: string, keyword: string): boolean {
    return (this.counts.get(keyword)?.get(threadId) ?? 0) === (this.sizes.get(threadId) ?? 0);
  }

  some(threadId: string, keyword: string): boolean {
    return (this.counts.get(keyword)?.get(threadId) ?? 0) > 0;
  }
}

/** The keywords a filter and sort ask about thread-wide (they need every Email of the account). */
export function threadKeywordsOf(filter: EmailFilter | null, sort: readonly EmailComparator[]): Set<string> {
  const out = new Set<string>();
  const walk = (f: EmailFilter): void => {
    if (f.kind === 'operator') return f.conditions.forEach(walk);
    const c = f.condition;
    for (const k of [c.allInThreadHaveKeyword, c.someInThreadHaveKeyword, c.noneInThreadHaveKeyword]) {
      if (k !== undefined) out.add(k);
    }
  };
  if (filter) walk(filter);
  for (const s of sort) {
    if (s.property === 'allInThreadHaveKeyword' || s.property === 'someInThreadHaveKeyword') {
      out.add(s.keyword as string);
    }
  }
  return out;
}

function condition(c: EmailCondition, x: Candidate, threads: ThreadKeywords | null): Tri {
  const r = x.rec;
  // Cheap facts first: a false one settles the condition before anything is loaded.
  if (c.inMailbox !== undefined && !r.mailboxIds.includes(c.inMailbox)) return false;
  if (c.inMailboxOtherThan !== undefined) {
    const not = c.inMailboxOtherThan;
    if (!r.mailboxIds.some((m) => !not.includes(m))) return false;
  }
  const at = r.receivedAt.getTime();
  if (c.before !== undefined && !(at < c.before)) return false;
  if (c.after !== undefined && !(at >= c.after)) return false;
  if (c.minSize !== undefined && !(r.size >= c.minSize)) return false;
  if (c.maxSize !== undefined && !(r.size < c.maxSize)) return false;
  if (c.hasKeyword !== undefined && !x.keywords.has(c.hasKeyword)) return false;
  if (c.notKeyword !== undefined && x.keywords.has(c.notKeyword)) return false;
  if (threads) {
    if (c.allInThreadHaveKeyword !== undefined && !threads.all(r.threadId, c.allInThreadHaveKeyword))
      return false;
    if (c.someInThreadHaveKeyword !== undefined && !threads.some(r.threadId, c.someInThreadHaveKeyword))
      return false;
    if (c.noneInThreadHaveKeyword !== undefined && threads.some(r.threadId, c.noneInThreadHaveKeyword))
      return false;
  }
  let unknown = false;
  const needsHeaders =
    c.header !== undefined ||
    c.subject !== undefined ||
    ADDRESS_FIELDS.some((f) => c[f] !== undefined) ||
    c.text !== undefined;
  if (needsHeaders) {
    if (x.headers === undefined) unknown = true;
    else {
      const h = x.headers ?? '';
      if (c.header !== undefined) {
        const [name, value] = c.header;
        const ok =
          value === undefined
            ? h.includes(`\n${name}:`)
            : headerIndexValues(h, name).some((v) => v.includes(value.toLowerCase()));
        if (!ok) return false;
      }
      if (c.subject !== undefined) {
        const terms = searchTerms(c.subject);
        if (!headerIndexValues(h, 'subject').some((v) => allIn(v, terms))) return false;
      }
      for (const f of ADDRESS_FIELDS) {
        const want = c[f];
        if (want === undefined) continue;
        const terms = searchTerms(want);
        if (!headerIndexValues(h, f).some((v) => allIn(v, terms))) return false;
      }
    }
  }
  if (c.text !== undefined || c.body !== undefined || c.hasAttachment !== undefined) {
    if (x.content === undefined) return undefined;
    const body = (x.content?.text ?? '').toLowerCase();
    if (c.hasAttachment !== undefined && (x.content?.hasAttachment ?? false) !== c.hasAttachment)
      return false;
    if (c.body !== undefined && !allIn(body, searchTerms(c.body))) return false;
    if (c.text !== undefined) {
      if (x.headers === undefined) return undefined;
      // RFC 8621 4.4.1 text: From, To, Cc, Bcc, Subject or a text body part; each term anywhere in them.
      const h = x.headers ?? '';
      const fields = ['from', 'to', 'cc', 'bcc', 'subject']
        .flatMap((f) => headerIndexValues(h, f))
        .join('\n');
      if (!searchTerms(c.text).every((t) => fields.includes(t) || body.includes(t))) return false;
    }
  }
  return unknown ? undefined : true;
}

function evaluate(f: EmailFilter, x: Candidate, threads: ThreadKeywords | null): Tri {
  if (f.kind === 'condition') return condition(f.condition, x, threads);
  if (f.operator === 'NOT') {
    // RFC 8621 4.4.1 NOT: none of the conditions match (NOT of an OR).
    let unknown = false;
    for (const sub of f.conditions) {
      const r = evaluate(sub, x, threads);
      if (r === true) return false;
      if (r === undefined) unknown = true;
    }
    return unknown ? undefined : true;
  }
  const settle = f.operator === 'OR'; // OR settles on the first true, AND on the first false
  let unknown = false;
  for (const sub of f.conditions) {
    const r = evaluate(sub, x, threads);
    if (r === settle) return settle;
    if (r === undefined) unknown = true;
  }
  return unknown ? undefined : !settle;
}

/**
 * The Emails of `all` that match `filter`, in the order given. Loads header indexes only for the
 * candidates the cheap facts leave undecided (one batch), and bodies only for those still undecided,
 * one at a time, yielding to the event loop every JMAP_QUERY_LIMITS.yieldEvery.
 */
export async function filterEmails(
  all: readonly EmailRecord[],
  filter: EmailFilter | null,
  threads: ThreadKeywords | null,
  sources: SearchSources,
): Promise<EmailRecord[]> {
  if (filter === null) return [...all];
  const candidates: Candidate[] = all.map((rec) => ({
    rec,
    keywords: new Set(rec.keywords),
    headers: undefined,
    content: undefined,
  }));
  const out = new Array<boolean>(candidates.length).fill(false);
  let pending: number[] = [];
  candidates.forEach((x, i) => {
    const r = evaluate(filter, x, threads);
    if (r === undefined) pending.push(i);
    else out[i] = r;
  });
  if (pending.length > 0) {
    const headers = await sources.headers(pending.map((i) => (candidates[i] as Candidate).rec.messageId));
    const still: number[] = [];
    pending.forEach((i, n) => {
      const x = candidates[i] as Candidate;
      x.headers = headers[n] ?? null;
      const r = evaluate(filter, x, threads);
      if (r === undefined) still.push(i);
      else out[i] = r;
    });
    pending = still;
  }
  for (let n = 0; n < pending.length; n++) {
    if (n > 0 && n % JMAP_QUERY_LIMITS.yieldEvery === 0) await new Promise((r) => setImmediate(r));
    const x = candidates[pending[n] as number] as Candidate;
    x.content = await sources.content(x.rec.messageId);
    out[pending[n] as number] = evaluate(filter, x, threads) === true;
  }
  return all.filter((_, i) => out[i]);
}

/** A string sort key in a collation (RFC 4790): the header index is lower case already. */
function collate(value: string, collation: EmailComparator['collation']): string {
  // i;unicode-casemap (RFC 5051): case-folded and decomposed; the index's toLowerCase is the fold.
  if (collation === 'i;unicode-casemap') return value.normalize('NFKD');
  return value;
}

/** RFC 4790 9.1 i;ascii-numeric: the leading digits as a number; a string without them sorts after all numbers. */
function numericKey(value: string): number {
  const m = /^[0-9]+/.exec(value);
  return m ? Number(m[0]) : Number.POSITIVE_INFINITY;
}

type Key = number | string;

/**
 * Sorts Emails by the comparators (RFC 8621 4.4.2), then by receivedAt and stored order, newest first
 * (the order of the mailbox index, so the fast path and this agree). Headers are read for the from, to,
 * subject and sentAt sorts (mail/sort.ts's RFC 5256/5957 keys).
 */
export async function sortEmails(
  emails: EmailRecord[],
  sort: readonly EmailComparator[],
  threads: ThreadKeywords | null,
  sources: SearchSources,
): Promise<EmailRecord[]> {
  const needsHeaders = sort.some((s) => ['from', 'to', 'subject', 'sentAt'].includes(s.property));
  const headers = needsHeaders ? await sources.headers(emails.map((e) => e.messageId)) : [];
  const keys: Key[][] = emails.map((e, i) => {
    const h = headers[i] ?? '';
    const first = (name: string): string | undefined => headerIndexValues(h, name)[0];
    const kw = new Set(e.keywords);
    return sort.map((s): Key => {
      switch (s.property) {
        case 'receivedAt':
          return e.receivedAt.getTime();
        case 'size':
          return e.size;
        case 'sentAt':
          return sentDate(first('date'), e.receivedAt.getTime());
        case 'hasKeyword':
          return kw.has(s.keyword as string) ? 1 : 0;
        case 'allInThreadHaveKeyword':
          return threads?.all(e.threadId, s.keyword as string) ? 1 : 0;
        case 'someInThreadHaveKeyword':
          return threads?.some(e.threadId, s.keyword as string) ? 1 : 0;
        default: {
          // RFC 8621 4.4.2: from/to = the first address's name, else its email (RFC 5957 display
          // form); subject = the base subject of RFC 5256 2.1.
          const text =
            s.property === 'subject'
              ? extractBaseSubject(first('subject') ?? '').subject
              : firstAddressKey(first(s.property), true);
          return s.collation === 'i;ascii-numeric' ? numericKey(text) : collate(text, s.collation);
        }
      }
    });
  });
  const order = emails.map((_, i) => i);
  order.sort((a, b) => {
    const ka = keys[a] as Key[];
    const kb = keys[b] as Key[];
    for (let n = 0; n < sort.length; n++) {
      const x = ka[n] as Key;
      const y = kb[n] as Key;
      if (x === y) continue;
      const r = x < y ? -1 : 1;
      return (sort[n] as EmailComparator).isAscending ? r : -r;
    }
    const ea = emails[a] as EmailRecord;
    const eb = emails[b] as EmailRecord;
    return eb.receivedAt.getTime() - ea.receivedAt.getTime() || eb.messageId - ea.messageId;
  });
  return order.map((i) => emails[i] as EmailRecord);
}

/** collapseThreads (RFC 8621 4.4.3): only the first Email of each thread in the sorted list. */
export function collapse(emails: readonly EmailRecord[]): EmailRecord[] {
  const seen = new Set<string>();
  return emails.filter((e) => !seen.has(e.threadId) && Boolean(seen.add(e.threadId)));
}
