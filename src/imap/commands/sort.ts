// IMAP SORT / UID SORT and THREAD / UID THREAD (RFC 5256), ESORT (RFC 5267 3) and PARTIAL (RFC 5267 4.4), on src/mail's sort/thread engine.
import { headerIndexValues, type HeaderIndex, type MessageMeta } from '../../store/mail-store.js';
import {
  compileSort,
  keysOf,
  sortableMessage,
  type SortableMessage,
  type SortCriterion,
} from '../../mail/sort.js';
import {
  threadableMessage,
  threadOrderedSubject,
  threadReferences,
  type ThreadableMessage,
  type ThreadNode,
} from '../../mail/threading.js';
import type { ImapCommand, SearchKey } from '../proto/command-types.js';
import type { Addressed, SelectedView } from '../selected-view.js';
import { enableCondstore, type CommandContext } from './context.js';
import { candidates, needs, refuseUnknownCharset, returned, yieldToLoop, type Needs } from './search.js';
import { addContext, type ContextEvaluator } from './contexts.js';
import { selectedView } from './select.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

/** One matching message with what sorting reads of it. */
interface Hit {
  seq: number;
  uid: number;
  /** Size and INTERNALDATE: read only when a criterion or a missing Date needs them (loadMeta). */
  meta: MessageMeta | null;
  headers: HeaderIndex;
}

/** View positions read per store query (as SEARCH: one metadata query and one header-index query each). */
const CHUNK = 1000;

/** Event-loop time one SORT/THREAD may take before letting other sessions run. */
const SLICE_MS = 10;

/**
 * The messages matching `key`, with their header index: the stored per-message data SEARCH uses, so a
 * SORT or THREAD of 10,000 messages reads no body (RFC 5256 needs only Date, Subject, From, To, Cc,
 * Message-ID, In-Reply-To and References). Read per chunk of view positions; a message expunged
 * meanwhile is left out.
 */
async function matching(
  ctx: CommandContext,
  view: SelectedView,
  key: SearchKey,
): Promise<{ hits: Hit[]; modseq: boolean }> {
  const n: Needs = { meta: false, headers: false, body: false, modseq: false };
  needs(key, n);
  if (n.modseq) enableCondstore(ctx);
  // An ALL search (the usual SORT/THREAD) matches every message of the view without reading anything.
  const found = key.op === 'all' ? null : await candidates(ctx, view, n, key);
  return { hits: await withHeaders(ctx, view, found), modseq: n.modseq };
}

/** These messages (ascending; null: the whole view) with their header index; an expunged one is left out. */
async function withHeaders(
  ctx: CommandContext,
  view: SelectedView,
  found: readonly Addressed[] | null,
): Promise<Hit[]> {
  const hits: Hit[] = [];
  const pause = slicer(ctx);
  let next = 0; // the next entry of `found`
  for (let first = 0; first < view.exists; first += CHUNK) {
    await pause(first);
    const last = Math.min(view.exists, first + CHUNK) - 1;
    const seqs: number[] = [];
    if (found === null) for (let i = first; i <= last; i++) seqs.push(i + 1);
    else {
      for (; next < found.length && (found[next] as Addressed).seq <= last + 1; next++) {
        seqs.push((found[next] as Addressed).seq);
      }
    }
    if (seqs.length === 0) continue;
    const headers = await ctx.services.store.mail.searchHeaders(
      seqs.map((s) => view.messageIds[s - 1] as number),
    );
    seqs.forEach((seq, i) => {
      const h = headers[i];
      if (h !== null && h !== undefined)
        hits.push({ seq, uid: view.uids[seq - 1] as number, meta: null, headers: h });
    });
  }
  return hits;
}

/** Yields to other sessions when this command has held the event loop for SLICE_MS. */
function slicer(ctx: CommandContext): (i: number) => Promise<void> {
  let sliceStart = ctx.services.now().getTime();
  return async (i) => {
    if (i > 0 && ctx.services.now().getTime() - sliceStart >= SLICE_MS) {
      await yieldToLoop();
      sliceStart = ctx.services.now().getTime();
    }
  };
}

/**
 * Fills `meta` (size, INTERNALDATE) of these hits (ascending by seq), one query per CHUNK of them.
 * Only ARRIVAL and SIZE need it for every message; DATE and THREAD only for a message without a usable
 * Date header (RFC 5256 2.2), and reading it for all was a third of a 10,000-message SORT (DATE).
 */
async function loadMeta(ctx: CommandContext, view: SelectedView, hits: readonly Hit[]): Promise<void> {
  const pause = slicer(ctx);
  for (let first = 0; first < hits.length; first += CHUNK) {
    await pause(first);
    const part = hits.slice(first, first + CHUNK);
    const lo = (part[0] as Hit).uid;
    const hi = (part[part.length - 1] as Hit).uid;
    const metas = new Map<number, MessageMeta>();
    // A sparse chunk reads the rows between its UIDs too; a rare case (few messages lack a Date).
    for (const m of await ctx.services.store.mail.messageMeta(view.mailboxId, lo, hi, false))
      metas.set(m.uid, m);
    for (const h of part) h.meta = metas.get(h.uid) ?? null;
  }
}

/**
 * What the engine reads of a hit: the first value of a field in the header index (decoded, lower case),
 * and size and INTERNALDATE when loaded (else NaN, which marks a sent date still to be found).
 */
function facts(h: Hit): {
  order: number;
  arrival: number;
  size: number;
  header(name: string): string | undefined;
} {
  return {
    // The UID: in the same order as sequence numbers, and stable across expunges, so records kept by a
    // CONTEXT=SORT context still compare rightly with new ones (commands/contexts.ts).
    order: h.uid,
    arrival: h.meta === null ? NaN : h.meta.internalDate.getTime(),
    size: h.meta?.size ?? 0,
    header: (name) => headerIndexValues(h.headers, name)[0],
  };
}

/**
 * RFC 5256 2.2 for the records whose Date header was missing or unparsable (their date is NaN): the
 * INTERNALDATE is the sent date. A message expunged meanwhile has none and sorts first.
 */
async function dateFallbacks<R extends { date: number; hit: Hit }>(
  ctx: CommandContext,
  view: SelectedView,
  records: readonly R[],
): Promise<void> {
  const missing = records.filter((r) => Number.isNaN(r.date));
  if (missing.length === 0) return;
  await loadMeta(
    ctx,
    view,
    missing.map((r) => r.hit),
  );
  for (const r of missing) r.date = r.hit.meta?.internalDate.getTime() ?? 0;
}

/** The highest MODSEQ of these messages (RFC 7162 3.1.5: SORT and ESEARCH results carry it). */
function highestModseq(view: SelectedView, seqs: Iterable<number>): number {
  let max = 0;
  for (const s of seqs) max = Math.max(max, view.modseqs[s - 1] as number);
  return max;
}

/**
 * ALL of ESORT (RFC 5267 3.1: "in the requested sort order"): numbers in sort order; only a run rising
 * by one is written as a range, since "7:5" would read as the set 5,6,7 (RFC 9051 9 seq-range).
 */
function orderedSet(ids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length;) {
    let j = i;
    while (j + 1 < ids.length && (ids[j + 1] as number) === (ids[j] as number) + 1) j++;
    parts.push(j > i ? `${ids[i]}:${ids[j]}` : String(ids[i]));
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * The sort records of these hits, sorted by the criteria, and the hits kept (in their order): one
 * expunged meanwhile is left out.
 */
async function sortRecords(
  ctx: CommandContext,
  view: SelectedView,
  found: Hit[],
  criteria: SortCriterion[],
): Promise<{ records: Array<SortableMessage & { hit: Hit }>; hits: Hit[] }> {
  let hits = found;
  const keys = keysOf(criteria);
  if (keys.has('arrival') || keys.has('size')) {
    await loadMeta(ctx, view, hits);
    hits = hits.filter((h) => h.meta !== null); // expunged and collected meanwhile: no data, as in SEARCH
  }
  const records: Array<SortableMessage & { hit: Hit }> = hits.map((h) =>
    Object.assign(sortableMessage(facts(h), keys), { hit: h }),
  );
  if (keys.has('date')) await dateFallbacks(ctx, view, records);
  return { records: records.sort(compileSort(criteria)), hits };
}

/** How CONTEXT updates (commands/contexts.ts) re-check changed messages: SEARCH's and SORT's own code. */
export const contextEvaluator: ContextEvaluator = {
  async matching(ctx, view, key, uids) {
    const seqs = uids.map((u) => view.seqOf(u)).filter((s) => s > 0);
    const n: Needs = { meta: false, headers: false, body: false, modseq: false };
    needs(key, n);
    return (await candidates(ctx, view, n, key, seqs)).map((h) => h.uid);
  },
  async records(ctx, view, criteria, uids) {
    const found = uids.map((uid) => ({ seq: view.seqOf(uid), uid })).filter((a) => a.seq > 0);
    const { records } = await sortRecords(ctx, view, await withHeaders(ctx, view, found), criteria);
    return records.map((r) => Object.assign(r, { uid: r.hit.uid }));
  },
};

export async function sort(ctx: CommandContext, cmd: Cmd<'SORT'>): Promise<void> {
  const view = selectedView(ctx);
  refuseUnknownCharset(cmd.charset);
  const matched = await matching(ctx, view, cmd.key);
  const modseq = matched.modseq;
  const { records, hits } = await sortRecords(ctx, view, matched.hits, cmd.criteria);
  const sorted = records.map((r) => r.hit);
  const ids = sorted.map((h) => (cmd.uid ? h.uid : h.seq));
  const opts = cmd.returnOptions;
  if (opts === null) {
    // RFC 5256 4 sort-data; RFC 7162 3.1.5 adds "(MODSEQ n)" when the search used MODSEQ.
    const mod =
      modseq && ids.length > 0
        ? ` (MODSEQ ${highestModseq(
            view,
            hits.map((h) => h.seq),
          )})`
        : '';
    ctx.out.raw(`* SORT${ids.length > 0 ? ' ' + ids.join(' ') : ''}${mod}\r\n`);
    return;
  }
  // RFC 5267 3 (ESORT): the ESEARCH response, MIN/MAX being the first and last in sort order.
  if (opts.includes('SAVE')) view.saved = hits.map((h) => h.uid);
  if (opts.includes('UPDATE')) {
    // RFC 5267 4.1/4.3: a sorted context; its updates give positions in this order.
    addContext(ctx, view, {
      tag: ctx.tag,
      uid: cmd.uid,
      key: cmd.key,
      criteria: cmd.criteria,
      partialLast: cmd.partial?.last ?? null,
      uids: new Set(hits.map((h) => h.uid)),
      sorted: records.map((r) => Object.assign(r, { uid: r.hit.uid })),
    });
  }
  // UPDATE alone returns ALL, as for SEARCH (search.ts returned); with PARTIAL, the partial result.
  const want = cmd.partial !== null ? opts.filter((o) => o !== 'SAVE' && o !== 'UPDATE') : returned(opts);
  if (want.length === 0 && cmd.partial === null) return; // SAVE alone returns nothing (RFC 5182 2.1)
  let line = `* ESEARCH (TAG "${ctx.tag.replace(/["\\]/g, '')}")${cmd.uid ? ' UID' : ''}`;
  const reported = new Set<number>();
  if (ids.length > 0) {
    if (want.includes('MIN')) {
      line += ` MIN ${ids[0]}`;
      reported.add((sorted[0] as Hit).seq);
    }
    if (want.includes('MAX')) {
      line += ` MAX ${ids[ids.length - 1]}`;
      reported.add((sorted[sorted.length - 1] as Hit).seq);
    }
    if (want.includes('ALL')) line += ` ALL ${orderedSet(ids)}`;
  }
  if (cmd.partial !== null) {
    // RFC 5267 4.4: the messages at these positions of the sorted result, or NIL when there are none.
    const { first, last } = cmd.partial;
    const part = sorted.slice(first - 1, last);
    for (const h of part) reported.add(h.seq);
    const set = part.length > 0 ? orderedSet(part.map((h) => (cmd.uid ? h.uid : h.seq))) : 'NIL';
    line += ` PARTIAL (${first}:${last} ${set})`;
  }
  if (want.includes('COUNT')) line += ` COUNT ${ids.length}`;
  if (modseq && ids.length > 0) {
    // As SEARCH (RFC 4731 3.2, RFC 7162 3.1.5): ALL/COUNT report every match, else only those returned.
    const all = want.includes('ALL') || want.includes('COUNT');
    const m = highestModseq(view, all ? hits.map((h) => h.seq) : reported);
    if (m > 0) line += ` MODSEQ ${m}`;
  }
  ctx.out.raw(line + '\r\n');
}

/**
 * RFC 5256 4 thread-list text: "(" thread-members / thread-nested ")", where a chain of single children
 * is "a b c" and a node with several children is followed by one parenthesised list per child; a dummy
 * (no message) contributes no number. Built with an explicit stack: a hostile mailbox can nest deeply.
 */
export function threadListText<T extends ThreadableMessage>(
  roots: ReadonlyArray<ThreadNode<T>>,
  idOf: (m: T) => number,
): string {
  let out = '';
  type Task = string | ThreadNode<T>;
  const stack: Task[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push(')', roots[i] as ThreadNode<T>, '(');
  while (stack.length > 0) {
    const t = stack.pop() as Task;
    if (typeof t === 'string') {
      out += t;
      continue;
    }
    const seq: Task[] = [];
    let cur: ThreadNode<T> = t;
    let empty = true;
    for (;;) {
      if (cur.message !== null) {
        seq.push(`${empty ? '' : ' '}${idOf(cur.message)}`);
        empty = false;
      }
      if (cur.children.length === 1) {
        cur = cur.children[0] as ThreadNode<T>;
        continue;
      }
      if (cur.children.length > 1) {
        if (!empty) seq.push(' ');
        for (const c of cur.children) seq.push('(', c, ')');
      }
      break;
    }
    for (let i = seq.length - 1; i >= 0; i--) stack.push(seq[i] as Task);
  }
  return out;
}

export async function thread(ctx: CommandContext, cmd: Cmd<'THREAD'>): Promise<void> {
  const view = selectedView(ctx);
  refuseUnknownCharset(cmd.charset);
  const { hits } = await matching(ctx, view, cmd.key);
  const records = hits.map((h) => Object.assign(threadableMessage(facts(h)), { hit: h }));
  await dateFallbacks(ctx, view, records);
  const roots = cmd.algorithm === 'REFERENCES' ? threadReferences(records) : threadOrderedSubject(records);
  const text = threadListText(roots, (m) => (cmd.uid ? m.hit.uid : m.hit.seq));
  // RFC 5256 4: thread-data = "THREAD" [SP 1*thread-list].
  ctx.out.raw(`* THREAD${text === '' ? '' : ' ' + text}\r\n`);
}
