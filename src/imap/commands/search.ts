// IMAP SEARCH and UID SEARCH (RFC 9051 6.4.4; ESEARCH RFC 4731; SEARCHRES RFC 5182; MODSEQ RFC 7162 3.1.5).
import { parseAddresses } from '../../mail/envelope.js';
import { headerIndexValues, type MessageMeta } from '../../store/mail-store.js';
import { escapeRegExp } from '../../mail/escape-regexp.js';
import type { ImapCommand, SearchKey, SearchReturnOption } from '../proto/command-types.js';
import { formatNumbers, inRanges, resolveSequenceSet } from '../proto/sequence-set.js';
import { sectionBytes } from '../message-sections.js';
import { internalDay, searchDay, sentDay } from '../search-dates.js';
import type { SelectedView } from '../selected-view.js';
import { enableCondstore, no, type CommandContext } from './context.js';
import { selectedView } from './select.js';
import { addContext } from './contexts.js';
import { decodeId } from '../../store/object-ids.js';
import { readUnlessExpunged } from '../../store/read-unless-expunged.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

export interface Needs {
  meta: boolean;
  /** The header index (store.mail.searchHeaders): header keys and SENT* dates. */
  headers: boolean;
  body: boolean;
  modseq: boolean;
}

export function needs(k: SearchKey, n: Needs): void {
  switch (k.op) {
    case 'date':
      if (k.field === 'sent') n.headers = true;
      else n.meta = true;
      break;
    case 'size':
    case 'within':
      n.meta = true;
      break;
    case 'header':
      n.headers = true;
      break;
    case 'body':
    case 'text':
      n.meta = true;
      n.body = true;
      break;
    case 'modseq':
      n.modseq = true;
      break;
    case 'not':
      needs(k.key, n);
      break;
    case 'or':
      needs(k.left, n);
      needs(k.right, n);
      break;
    case 'and':
      for (const x of k.keys) needs(x, n);
      break;
    default:
  }
}

interface Candidate {
  seq: number;
  uid: number;
  meta: MessageMeta | null;
  headers: string | null;
  body: Buffer | null;
  /** The time of the search (epoch ms, the injected clock): RFC 5032 OLDER/YOUNGER count back from it. */
  now: number;
}

/** The search keys FROM, TO, CC and BCC name these fields (parse-search.ts HEADER_KEYS). */
const ADDRESS_FIELDS = new Set(['from', 'to', 'cc', 'bcc']);

/**
 * A raw address field whose envelope form (RFC 9051 7.5.2) may differ from its text: comments, quotes,
 * quoted pairs or white space next to the '@'. Other values are checked as text only, which is the same.
 */
const ADDRESS_NOT_PLAIN = /[("\\]|\s@|@\s/;

/**
 * RFC 9051 6.4.4: FROM/TO/CC/BCC match "the envelope structure's" field, so `<user (c)@ (c) example.org>`
 * matches "user@example.org" although its header text does not contain it. Each address is tried as
 * "name mailbox@host" (the index value is already decoded and lower-cased).
 */
function envelopeAddressContains(value: string, needle: string): boolean {
  if (!ADDRESS_NOT_PLAIN.test(value)) return false;
  return parseAddresses(value).some((a) => `${a.name} ${a.address}`.includes(needle));
}

/** A HEADER (FROM, SUBJECT...) key as matches() uses it, made once per key instead of once per message. */
interface HeaderPlan {
  /** "\nfield:", how each of the field's values starts in a header index (mail-store.ts HeaderIndex). */
  prefix: string;
  /** The value searched for, lower-cased as the index is. */
  needle: string;
  /** FROM/TO/CC/BCC: the envelope form counts too (envelopeAddressContains). */
  envelope: boolean;
  /** needleInValue(needle); null for "" (any value matches). */
  needleRe: RegExp | null;
}

const headerPlans = new WeakMap<SearchKey, HeaderPlan>();

function headerPlan(k: SearchKey & { op: 'header' }): HeaderPlan {
  let plan = headerPlans.get(k);
  if (!plan) {
    const field = k.field.toLowerCase();
    const needle = k.value.toLowerCase();
    plan = {
      prefix: `\n${field}:`,
      needle,
      envelope: ADDRESS_FIELDS.has(field),
      needleRe: needle === '' ? null : needleInValue(needle),
    };
    headerPlans.set(k, plan);
  }
  return plan;
}

/*
 * A header index value runs from after "\nfield:" to the next line break (mail-store.ts HeaderIndex).
 * These sticky regexes start at the value and cannot run past its line break ([^\n]*? stops there), so
 * a value is searched in place, without slicing it out (a string per message searched) and without
 * scanning on to the end of the index (indexOf did, for every value without the needle: it cost more
 * CPU than the slices). A match is in the value when it ends by the value's end (inValue).
 */

/** Where `needle` (non-empty) occurs, as a sticky regex for inValue: the characters taken literally. */
export function needleInValue(needle: string): RegExp {
  return new RegExp(`[^\\n]*?${escapeRegExp(needle)}`, 'y');
}

/** ADDRESS_NOT_PLAIN, as a sticky regex for inValue. */
const NOT_PLAIN_IN_VALUE = new RegExp(`[^\\n]*?(?:${ADDRESS_NOT_PLAIN.source})`, 'y');

/** Whether `re` (needleInValue, NOT_PLAIN_IN_VALUE) matches within s[start, end), end being the value's line break or s's end. */
export function inValue(re: RegExp, s: string, start: number, end: number): boolean {
  re.lastIndex = start;
  return re.test(s) && re.lastIndex <= end;
}

/** ADDRESS_NOT_PLAIN.test(s.slice(start, end)) for a value (inValue). */
export function notPlainWithin(s: string, start: number, end: number): boolean {
  return inValue(NOT_PLAIN_IN_VALUE, s, start, end);
}

/**
 * Whether a value of the plan's field in this header index contains its needle (RFC 9051 6.4.4; HEADER
 * field "" matches every message that has the field), or, for an address field, the envelope form of
 * one does. The values are read in place, within their bounds: headerIndexValues made an array and a
 * string per value, per message, and a SEARCH FROM over a 10,000-message mailbox allocated ~4 MB that
 * way, most of the IMAP mix's garbage (each MiB a scavenge of the 1 MiB young generation, issue 12).
 */
function headerMatches(index: string, plan: HeaderPlan): boolean {
  const { prefix, needle } = plan;
  for (let at = index.indexOf(prefix); at >= 0; at = index.indexOf(prefix, at + 1)) {
    const start = at + prefix.length;
    let end = index.indexOf('\n', start);
    if (end < 0) end = index.length;
    if (needle === '' || inValue(plan.needleRe as RegExp, index, start, end)) return true;
    // Only a value whose envelope form may differ from its text is sliced and parsed.
    if (
      plan.envelope &&
      notPlainWithin(index, start, end) &&
      envelopeAddressContains(index.slice(start, end), needle)
    )
      return true;
  }
  return false;
}

/** Case-insensitive substring match on Unicode text (RFC 9051 6.4.4). */
function contains(haystack: string, needle: string): boolean {
  return haystack.toLowerCase().includes(needle.toLowerCase());
}

/** Whether a message has a stored flag; `want` lower case (flags compare case-insensitively, RFC 9051 2.3.2). */
function hasFlag(view: SelectedView, seq: number, want: string): boolean {
  for (const x of view.flags[seq - 1] as string[]) {
    if (x.toLowerCase() === want) return true;
  }
  return false;
}

function matches(k: SearchKey, c: Candidate, view: SelectedView): boolean {
  switch (k.op) {
    case 'all':
      return true;
    case 'flag':
      return hasFlag(view, c.seq, k.flag.toLowerCase()) === k.set;
    // RFC 3501 6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT. An IMAP4rev2 session has no \Recent
    // (RFC 9051 removed it; view.recent is null): nothing is recent there and everything is old.
    case 'new':
      return (view.recent?.has(c.uid) ?? false) && !hasFlag(view, c.seq, '\\seen');
    case 'recent':
      return view.recent?.has(c.uid) ?? false;
    case 'old':
      return !(view.recent?.has(c.uid) ?? false);
    case 'seq':
      return k.set.kind === 'saved'
        ? view.saved.includes(c.uid)
        : inRanges(c.seq, resolveSequenceSet(k.set.ranges, view.exists));
    case 'uid':
      return k.set.kind === 'saved'
        ? view.saved.includes(c.uid)
        : inRanges(c.uid, resolveSequenceSet(k.set.ranges, Math.max(view.maxUid, 1)));
    case 'size':
      return k.cmp === 'larger' ? c.meta!.size > k.size : c.meta!.size < k.size;
    case 'modseq':
      return (view.modseqs[c.seq - 1] as number) >= k.modseq;
    case 'objectid':
      return objectIdSets.get(k)?.has(view.messageIds[c.seq - 1] as number) ?? false;
    case 'within': {
      // RFC 5032 3: YOUNGER n is an internal date within the last n seconds, OLDER n one before that;
      // the two are complements, so YOUNGER n OR OLDER n is every message.
      const cutoff = c.now - k.seconds * 1000;
      const at = c.meta!.internalDate.getTime();
      return k.older ? at < cutoff : at >= cutoff;
    }
    case 'date': {
      // The calendar day in the date's own zone (RFC 9051 6.4.4 "disregarding time and timezone").
      let day: number | null;
      if (k.field === 'internal') day = internalDay(c.meta!.internalDate, c.meta!.internalDateOffset);
      else if (k.field === 'saved') {
        // RFC 8514 4: the save date's day (kept in UTC); a message without one is judged by its internal date.
        const saved = c.meta!.saveDate;
        day = saved ? internalDay(saved, 0) : internalDay(c.meta!.internalDate, c.meta!.internalDateOffset);
      } else {
        const date = headerIndexValues(c.headers!, 'date')[0];
        day = date !== undefined ? sentDay(date) : null;
        if (day === null) return false;
      }
      const want = searchDay(k.date);
      return k.cmp === 'before' ? day < want : k.cmp === 'on' ? day === want : day >= want;
    }
    case 'header':
      return headerMatches(c.headers!, headerPlan(k));
    case 'body':
    case 'text': {
      const s = c.meta!.structure!;
      const part = k.op === 'body' ? sectionBytes(c.body!, s, { part: [], text: { kind: 'TEXT' } }) : c.body!;
      // Raw bytes as UTF-8/latin1 text: transfer encodings are not decoded (a known limit, see report).
      return part !== null && contains(part.toString('utf8'), k.value);
    }
    case 'not':
      return !matches(k.key, c, view);
    case 'or':
      return matches(k.left, c, view) || matches(k.right, c, view);
    case 'and':
      // A plain loop: every() took a closure per message searched.
      for (let i = 0; i < k.keys.length; i++) if (!matches(k.keys[i] as SearchKey, c, view)) return false;
      return true;
  }
}

/**
 * Lower-cased text that the header index of every matching message contains: that of a HEADER key the
 * whole search requires (the key itself or one of its AND-ed keys). The store filters on it, so a
 * SEARCH SUBJECT copies out only the messages that may match. Null when no such key.
 */
export function requiredHeaderText(k: SearchKey): string | null {
  if (k.op === 'header') {
    const field = k.field.toLowerCase();
    // An address key that may match only the envelope form (an '@', a dot or a space the header text
    // spells with comments or quotes around it) can filter on the field's presence alone.
    if (k.value === '' || (ADDRESS_FIELDS.has(field) && /[^\p{L}\p{N}_-]/u.test(k.value)))
      return `\n${field}:`;
    return k.value.toLowerCase();
  }
  if (k.op !== 'and') return null;
  for (const x of k.keys) {
    const t = requiredHeaderText(x);
    if (t !== null) return t;
  }
  return null;
}

/** Messages examined per store query; between chunks other sessions get the event loop. */
const CHUNK = 1000;

/** Event-loop time one SEARCH may take before letting other sessions run (a flag search never needs to). */
const SLICE_MS = 10;

export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The stored messages each EMAILID/THREADID key stands for (RFC 8474 6, 7), resolved once per SEARCH. */
const objectIdSets = new WeakMap<SearchKey, Set<number>>();

function resolveObjectIds(ctx: CommandContext, k: SearchKey): void {
  switch (k.op) {
    case 'objectid': {
      const st = ctx.session.state;
      const ids =
        st.kind === 'selected' && decodeId(k.kind, k.id) !== null
          ? ctx.services.store.jmap.messageIdsOf(st.account.id, k.id)
          : [];
      objectIdSets.set(k, new Set(ids));
      break;
    }
    case 'not':
      resolveObjectIds(ctx, k.key);
      break;
    case 'or':
      resolveObjectIds(ctx, k.left);
      resolveObjectIds(ctx, k.right);
      break;
    case 'and':
      for (const x of k.keys) resolveObjectIds(ctx, x);
      break;
    default:
  }
}

/**
 * The matching messages of the view, in order. Data is read per chunk of the view (one query for the
 * chunk's metadata, one for its header index), bodies only for BODY/TEXT keys; a message expunged by
 * another session meanwhile has no data and simply does not match. `only` (ascending sequence numbers)
 * limits the search to those messages: a CONTEXT update re-checks just the changed ones (RFC 5267 4).
 */
export async function candidates(
  ctx: CommandContext,
  view: SelectedView,
  n: Needs,
  key: SearchKey,
  only: readonly number[] | null = null,
): Promise<Array<{ seq: number; uid: number }>> {
  const store = ctx.services.store;
  const hits: Array<{ seq: number; uid: number }> = [];
  resolveObjectIds(ctx, key);
  // A message left out by this filter cannot match (see requiredHeaderText), like one without data.
  const required = requiredHeaderText(key);
  // One candidate object, refilled per message: matches() keeps no reference, and 100k objects per
  // SEARCH were most of its garbage.
  let sliceStart = ctx.services.now().getTime();
  const c: Candidate = { seq: 0, uid: 0, meta: null, headers: null, body: null, now: sliceStart };
  const total = only === null ? view.exists : only.length;
  /** The view index (seq - 1) of the i-th message searched. */
  const at = only === null ? (i: number) => i : (i: number) => (only[i] as number) - 1;
  for (let first = 0; first < total; first += CHUNK) {
    if (first > 0 && ctx.services.now().getTime() - sliceStart >= SLICE_MS) {
      await yieldToLoop();
      sliceStart = ctx.services.now().getTime();
    }
    const last = Math.min(total, first + CHUNK) - 1;
    const lo = view.uids[at(first)] as number;
    const hi = view.uids[at(last)] as number;
    const metas = new Map<number, MessageMeta>();
    if (n.meta) {
      for (const m of await store.mail.messageMeta(view.mailboxId, lo, hi, n.body)) metas.set(m.uid, m);
    }
    const ids: number[] = [];
    for (let i = first; i <= last; i++) ids.push(view.messageIds[at(i)] as number);
    const headers = n.headers ? await store.mail.searchHeaders(ids, required) : null;
    for (let j = first; j <= last; j++) {
      const i = at(j);
      const uid = view.uids[i] as number;
      const meta = metas.get(uid) ?? null;
      if (n.meta && !meta) continue;
      const h = headers ? (headers[j - first] ?? null) : null;
      if (n.headers && h === null) continue;
      c.seq = i + 1;
      c.uid = uid;
      c.meta = meta;
      c.headers = h;
      c.body = n.body && meta ? await readUnlessExpunged(store, meta.messageId) : null;
      if (n.body && c.body === null) continue; // expunged meanwhile: no data, no match
      if (matches(key, c, view)) hits.push({ seq: i + 1, uid });
    }
  }
  return hits;
}

/** RFC 9051 6.4.4 / RFC 5256 3: a charset we cannot search in is NO [BADCHARSET (the ones we can)]. */
export function refuseUnknownCharset(charset: string | null): void {
  const cs = charset?.toUpperCase() ?? null;
  if (cs !== null && cs !== 'UTF-8' && cs !== 'US-ASCII') {
    throw no('Unsupported charset', { name: 'BADCHARSET', args: '(UTF-8 US-ASCII)' });
  }
}

/** The result items RETURN asks for (RFC 4731 3.1, RFC 5182 2.1 SAVE, RFC 5267 4.1 UPDATE). */
export function returned(opts: readonly SearchReturnOption[] | null): SearchReturnOption[] {
  if (opts === null || opts.length === 0) return ['ALL'];
  const want = opts.filter((o) => o !== 'SAVE' && o !== 'UPDATE');
  if (want.length === 0 && opts.includes('UPDATE')) return ['ALL'];
  return want;
}

export async function search(ctx: CommandContext, cmd: Cmd<'SEARCH'>): Promise<void> {
  const view = selectedView(ctx);
  refuseUnknownCharset(cmd.charset);
  const n: Needs = { meta: false, headers: false, body: false, modseq: false };
  needs(cmd.key, n);
  if (n.modseq) enableCondstore(ctx);
  const hits = await candidates(ctx, view, n, cmd.key);
  const ids = hits.map((h) => (cmd.uid ? h.uid : h.seq));
  // Loops, not Math.max(...spread): a spread of 100k+ hits overflows the call stack (RangeError).
  let maxModseq = 0;
  if (n.modseq) for (const h of hits) maxModseq = Math.max(maxModseq, view.modseqs[h.seq - 1] as number);
  const opts = cmd.returnOptions;
  if (opts?.includes('SAVE')) view.saved = hits.map((h) => h.uid);
  const esearch = opts !== null || ctx.session.enabled.has('IMAP4REV2');
  if (!esearch) {
    const mod = n.modseq && ids.length > 0 ? ` (MODSEQ ${maxModseq})` : '';
    ctx.out.raw(`* SEARCH${ids.length > 0 ? ' ' + ids.join(' ') : ''}${mod}\r\n`);
    return;
  }
  if (opts?.includes('UPDATE')) {
    // RFC 5267 4.1: keep this result up to date (commands/contexts.ts); refused past the limit.
    addContext(ctx, view, {
      tag: ctx.tag,
      uid: cmd.uid,
      key: cmd.key,
      criteria: null,
      // Unsorted updates carry position 0 (RFC 5267 4.3), so a PARTIAL window cannot bound them.
      partialLast: null,
      uids: new Set(hits.map((h) => h.uid)),
      sorted: [],
    });
  }
  // RFC 4731 3.1: RETURN () means ALL; SAVE alone returns nothing else. UPDATE alone returns ALL: the
  // client needs the result its updates will change (RFC 5267 4.1); with PARTIAL, the partial result.
  const partial = cmd.partial;
  const want = partial !== null ? (opts ?? []).filter((o) => o !== 'SAVE' && o !== 'UPDATE') : returned(opts);
  if (want.length === 0 && partial === null) return;
  let line = `* ESEARCH (TAG "${ctx.tag.replace(/["\\]/g, '')}")${cmd.uid ? ' UID' : ''}`;
  if (ids.length > 0) {
    if (want.includes('MIN')) line += ` MIN ${ids.reduce((x, y) => Math.min(x, y))}`;
    if (want.includes('MAX')) line += ` MAX ${ids.reduce((x, y) => Math.max(x, y))}`;
    if (want.includes('ALL')) line += ` ALL ${formatNumbers(ids)}`;
  }
  // RFC 5267 4.4: the matches at these 1-based positions of the result (mailbox order), or NIL.
  const part = partial === null ? [] : hits.slice(partial.first - 1, partial.last);
  if (partial !== null) {
    const set = part.length > 0 ? formatNumbers(part.map((h) => (cmd.uid ? h.uid : h.seq))) : 'NIL';
    line += ` PARTIAL (${partial.first}:${partial.last} ${set})`;
  }
  if (want.includes('COUNT')) line += ` COUNT ${ids.length}`;
  if (n.modseq && ids.length > 0) {
    // RFC 4731 3.2 / RFC 7162 3.1.5: with only MIN, MAX and/or PARTIAL asked, MODSEQ is the highest of
    // the messages actually reported; ALL or COUNT report every match, so it is the highest of all.
    let reported = maxModseq;
    if (!want.includes('ALL') && !want.includes('COUNT')) {
      const modseqOf = (h: (typeof hits)[number]) => view.modseqs[h.seq - 1] as number;
      // hits are in mailbox order, and UIDs rise with sequence numbers: the first is MIN, the last MAX.
      const first = hits[0] as (typeof hits)[number];
      const last = hits[hits.length - 1] as (typeof hits)[number];
      reported = Math.max(
        want.includes('MIN') ? modseqOf(first) : 0,
        want.includes('MAX') ? modseqOf(last) : 0,
      );
      // A loop, not a spread: a PARTIAL window can hold the whole mailbox.
      for (const h of part) reported = Math.max(reported, modseqOf(h));
    }
    if (reported > 0) line += ` MODSEQ ${reported}`;
  }
  ctx.out.raw(line + '\r\n');
}
