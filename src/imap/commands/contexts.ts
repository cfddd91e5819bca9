// IMAP CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4): results kept up to date with ADDTO/REMOVEFROM, and CANCELUPDATE.
import { IMAP_MAX_SEARCH_CONTEXTS } from '../../config/limits.js';
import { compileSort, type SortableMessage, type SortCriterion } from '../../mail/sort.js';
import type { ImapCommand, SearchKey } from '../proto/command-types.js';
import { formatNumbers } from '../proto/sequence-set.js';
import type { SelectedView } from '../selected-view.js';
import { bad, type CommandContext, type Out } from './context.js';
import { selectedView } from './select.js';

/** One context (RFC 5267 4.1): what the command asked, and its result as this session last reported it. */
export interface SearchContext {
  tag: string;
  /** UID SEARCH/SORT: updates carry UIDs; otherwise sequence numbers (RFC 5267 4.3). */
  uid: boolean;
  key: SearchKey;
  /** null for SEARCH (unsorted: positions are 0, RFC 5267 4.3); the criteria for SORT. */
  criteria: SortCriterion[] | null;
  /** RFC 5267 4.4: with PARTIAL only changes at or before its last position are reported. */
  partialLast: number | null;
  /** The matching UIDs (SEARCH and SORT alike). */
  uids: Set<number>;
  /** SORT: the matching messages in sort order, `order` being the UID (as mailbox order). */
  sorted: Array<SortableMessage & { uid: number }>;
}

/**
 * What one update pass needs from the session's commands: the messages matching a context's key among
 * some UIDs of the view, and (for SORT) their sort records. Given by search.ts/sort.ts so this file holds
 * no store access of its own.
 */
export interface ContextEvaluator {
  matching(ctx: CommandContext, view: SelectedView, key: SearchKey, uids: number[]): Promise<number[]>;
  records(
    ctx: CommandContext,
    view: SelectedView,
    criteria: SortCriterion[],
    uids: number[],
  ): Promise<Array<SortableMessage & { uid: number }>>;
}

/**
 * Registers the context a SEARCH/SORT RETURN (UPDATE) asked for. A tag in use is replaced (the client
 * reused it). Past IMAP_MAX_SEARCH_CONTEXTS the result is still returned, with `* NO [NOUPDATE "tag"]`
 * before it (RFC 5267 4.2) and no context.
 */
export function addContext(ctx: CommandContext, view: SelectedView, c: SearchContext): void {
  if (!view.contexts.has(c.tag) && view.contexts.size >= IMAP_MAX_SEARCH_CONTEXTS) {
    ctx.out.untagged('NO', { name: 'NOUPDATE', args: quoted(c.tag) }, 'Too many contexts');
    return;
  }
  view.contexts.set(c.tag, c);
  view.contextChanges ??= { touched: new Set(), gone: new Set() };
}

/** CANCELUPDATE (RFC 5267 4.2): every tag must name a context of this selection, else BAD and none ends. */
export function cancelUpdate(ctx: CommandContext, cmd: ImapCommand & { name: 'CANCELUPDATE' }): void {
  const view = selectedView(ctx);
  const unknown = cmd.tags.find((t) => !view.contexts.has(t));
  if (unknown !== undefined) throw bad(`No context with tag ${quoted(unknown)}`);
  for (const t of cmd.tags) view.contexts.delete(t);
  if (view.contexts.size === 0) view.contextChanges = null;
}

/** A tag as a quoted string: tags are atoms (RFC 9051 9: no quoted-specials), stripped for safety. */
function quoted(tag: string): string {
  return `"${tag.replace(/["\\\r\n]/g, '')}"`;
}

/**
 * Reports how the contexts' results changed since the last pass: messages that left the view
 * (expunged, once their EXPUNGE/VANISHED has been sent) or stopped matching are REMOVEFROM, messages
 * new to the view or newly matching (a flag change) are ADDTO (RFC 5267 4.3). Run where untagged
 * responses may be sent: after each command and during IDLE.
 */
export async function updateContexts(
  ctx: CommandContext,
  view: SelectedView,
  out: Out,
  evaluator: ContextEvaluator,
): Promise<void> {
  const changes = view.contextChanges;
  if (changes === null || (changes.touched.size === 0 && changes.gone.size === 0)) return;
  view.contextChanges = { touched: new Set(), gone: new Set() };
  // Messages changed and then expunged are gone; the rest still in the view are re-evaluated.
  const touched = [...changes.touched].filter((u) => !changes.gone.has(u) && view.seqOf(u) > 0);
  touched.sort((a, b) => a - b);
  for (const c of [...view.contexts.values()]) {
    const matching = new Set(touched.length > 0 ? await evaluator.matching(ctx, view, c.key, touched) : []);
    // The session may have left the mailbox (or cancelled) while this evaluated; nothing to report then.
    if (view.contexts.get(c.tag) !== c) continue;
    const removed: number[] = [...changes.gone];
    const added: number[] = [];
    for (const u of touched) {
      const had = c.uids.has(u);
      if (had && !matching.has(u)) removed.push(u);
      else if (!had && matching.has(u)) added.push(u);
    }
    if (c.criteria === null) reportSearch(c, view, out, removed, added);
    else {
      const records = added.length > 0 ? await evaluator.records(ctx, view, c.criteria, added) : [];
      if (view.contexts.get(c.tag) !== c) continue;
      reportSort(c, view, out, removed, records);
    }
  }
}

/**
 * Reports messages about to be expunged from the view as REMOVEFROM of every context that has them,
 * numbered as the client still numbers them: called before their EXPUNGE/VANISHED is written (as Dovecot
 * does; imaptest search-context-update), since after an EXPUNGE a sequence number names another message.
 */
export function removeFromContexts(view: SelectedView, out: Out, uids: readonly number[]): void {
  for (const c of view.contexts.values()) {
    if (c.criteria === null) reportSearch(c, view, out, uids, []);
    else reportSort(c, view, out, uids, []);
  }
}

function prefix(c: SearchContext): string {
  return `* ESEARCH (TAG ${quoted(c.tag)})${c.uid ? ' UID' : ''}`;
}

/**
 * An unsorted context: positions are 0 (RFC 5267 4.3: "context-position ... may be 0 for SEARCH result
 * additions"; a SEARCH result is in mailbox order, which the client knows). Expunged messages were
 * reported before their EXPUNGE (removeFromContexts); one no longer in the view has no number to send.
 */
function reportSearch(
  c: SearchContext,
  view: SelectedView,
  out: Out,
  removed: readonly number[],
  added: number[],
): void {
  const gone = removed.filter((u) => c.uids.delete(u));
  for (const u of added) c.uids.add(u);
  const numbers = (uids: number[]): number[] =>
    c.uid ? uids : uids.map((u) => view.seqOf(u)).filter((s) => s > 0);
  const rm = numbers(gone);
  if (rm.length > 0) out.raw(`${prefix(c)} REMOVEFROM (0 ${formatNumbers(rm)})\r\n`);
  const add = numbers(added);
  if (add.length > 0) out.raw(`${prefix(c)} ADDTO (0 ${formatNumbers(add)})\r\n`);
}

/**
 * A sorted context (RFC 5267 4.3): REMOVEFROM gives each message's position before it is removed, ADDTO
 * the position it takes, both applied one after another as written, so the client's copy of the sorted
 * list follows exactly. With PARTIAL, changes after the window's last position do not move the window
 * and are not sent (RFC 5267 4.4).
 */
function reportSort(
  c: SearchContext,
  view: SelectedView,
  out: Out,
  removed: readonly number[],
  added: Array<SortableMessage & { uid: number }>,
): void {
  const number = (uid: number): number => (c.uid ? uid : view.seqOf(uid));
  const inWindow = (pos: number): boolean => c.partialLast === null || pos <= c.partialLast;
  const rm: string[] = [];
  const gone = new Set(removed);
  for (let i = c.sorted.length - 1; i >= 0; i--) {
    const r = c.sorted[i] as SortableMessage & { uid: number };
    if (!gone.has(r.uid)) continue;
    c.uids.delete(r.uid);
    // From the end: each removal leaves the positions before it as they were.
    c.sorted.splice(i, 1);
    const n = number(r.uid);
    if (n > 0 && inWindow(i + 1)) rm.push(`${i + 1} ${n}`);
  }
  if (rm.length > 0) out.raw(`${prefix(c)} REMOVEFROM (${rm.join(' ')})\r\n`);
  const compare = compileSort(c.criteria as SortCriterion[]);
  const add: string[] = [];
  for (const r of added) {
    // Binary search for the first record that sorts after r: r goes before it.
    let lo = 0;
    let hi = c.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(c.sorted[mid] as SortableMessage, r) <= 0) lo = mid + 1;
      else hi = mid;
    }
    c.sorted.splice(lo, 0, r);
    c.uids.add(r.uid);
    if (inWindow(lo + 1)) add.push(`${lo + 1} ${number(r.uid)}`);
  }
  if (add.length > 0) out.raw(`${prefix(c)} ADDTO (${add.join(' ')})\r\n`);
}
