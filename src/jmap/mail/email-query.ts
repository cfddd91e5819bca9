// Email/query and Email/queryChanges (RFC 8621 4.4, 4.5; RFC 8620 5.5, 5.6): the index fast path, the general engine, a result cache.
import { JMAP_QUERY_LIMITS } from '../../config/limits.js';
import type { EmailRecord, JmapStates } from '../../store/jmap-store.js';
import type { Store } from '../../store/store.js';
import type { MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { MAIL_CAPABILITY } from './capability.js';
import { requestStates } from './request-states.js';
import { StateCache } from './state-cache.js';
import { loadContent } from './email-content.js';
import {
  isJmapId,
  parseEmailFilter,
  parseEmailSort,
  type EmailComparator,
  type EmailFilter,
} from './email-filter.js';
import {
  collapse,
  filterEmails,
  sortEmails,
  ThreadKeywords,
  threadKeywordsOf,
  type SearchSources,
} from './email-search.js';

/** A parsed query: what decides the result list (not its window). */
export interface EmailQuery {
  filter: EmailFilter | null;
  sort: EmailComparator[];
  collapseThreads: boolean;
}

const invalid = (text: string): MethodError => new MethodError('invalidArguments', text);

function unsignedInt(args: Record<string, unknown>, name: string, fallback: number | null): number | null {
  const v = args[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw invalid(`"${name}" must be an UnsignedInt`);
  return v;
}

function int(args: Record<string, unknown>, name: string): number {
  const v = args[name];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(`"${name}" must be an Int`);
  return v;
}

function bool(args: Record<string, unknown>, name: string): boolean {
  const v = args[name];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw invalid(`"${name}" must be a boolean`);
  return v;
}

export function parseQuery(args: Record<string, unknown>): EmailQuery {
  return {
    filter: parseEmailFilter(args.filter),
    sort: parseEmailSort(args.sort),
    collapseThreads: bool(args, 'collapseThreads'),
  };
}

/** Whether results depend on other Emails of the thread: then a change to one Email moves others. */
function threadDependent(q: EmailQuery): boolean {
  return q.collapseThreads || threadKeywordsOf(q.filter, q.sort).size > 0;
}

/**
 * The mailbox a query lists in index order, if it is the web mail's message list: inMailbox alone,
 * receivedAt newest first (or no sort), no collapse. store.jmap.queryMailbox answers it by an index walk
 * that stops at the page, whatever the mailbox's size (the 100,000-message bench).
 */
function fastMailbox(q: EmailQuery): string | null {
  if (q.collapseThreads || q.filter?.kind !== 'condition') return null;
  const c = q.filter.condition;
  if (c.inMailbox === undefined || Object.keys(c).length !== 1) return null;
  if (q.sort.length === 0) return c.inMailbox;
  const [s] = q.sort;
  return q.sort.length === 1 && s?.property === 'receivedAt' && !s.isAscending ? c.inMailbox : null;
}

/** Runs queries for one server: the sources, and the LRU of full result lists by (account, query, Email state). */
export class EmailQueryEngine {
  private readonly cache = new Map<string, string[]>();
  /** Pages of the index fast path by (account, Email state): state-cache.ts says why that is safe. */
  private readonly pages = new StateCache<{ ids: string[]; start: number; total: number }>();
  private readonly sources: SearchSources;

  constructor(private readonly store: Store) {
    this.sources = {
      headers: (ids) => store.mail.searchHeaders(ids),
      content: (id) => loadContent(store, id),
    };
  }

  /** Every id of the query's results, sorted (collapsed if asked), as of (at least) `state`. */
  async results(accountId: number, q: EmailQuery, state: string): Promise<string[]> {
    const key = `${accountId}\n${state}\n${JSON.stringify(q)}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const all = this.store.jmap.listEmails(accountId);
    const keywords = threadKeywordsOf(q.filter, q.sort);
    const threads = keywords.size > 0 ? new ThreadKeywords(all, keywords) : null;
    let list: EmailRecord[] = await filterEmails(all, q.filter, threads, this.sources);
    // listEmails is already newest first: the default order and the receivedAt-desc sort need no sort.
    if (
      q.sort.length > 0 &&
      !(q.sort.length === 1 && q.sort[0]?.property === 'receivedAt' && !q.sort[0].isAscending)
    ) {
      list = await sortEmails(list, q.sort, threads, this.sources);
    }
    if (q.collapseThreads) list = collapse(list);
    const ids = list.map((e) => e.id);
    this.cache.set(key, ids);
    if (this.cache.size > JMAP_QUERY_LIMITS.cacheEntries) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
    return ids;
  }

  /** Email/query (RFC 8621 4.4). */
  async query(
    args: Record<string, unknown>,
    accountId: string,
    storeId: number,
    states: () => JmapStates = () => this.store.jmap.states(storeId),
  ): Promise<Record<string, unknown>> {
    const q = parseQuery(args);
    const requested = unsignedInt(args, 'limit', null);
    const limit = Math.min(requested ?? JMAP_QUERY_LIMITS.maxLimit, JMAP_QUERY_LIMITS.maxLimit);
    const position = int(args, 'position');
    const anchor = args.anchor ?? null;
    if (anchor !== null && !isJmapId(anchor)) throw invalid('"anchor" must be an Email id');
    const anchorOffset = int(args, 'anchorOffset');
    const calculateTotal = bool(args, 'calculateTotal');
    // The state is read before the results: a change in between is then reported again, never lost.
    const queryState = states().Email;
    const out: Record<string, unknown> = {
      accountId,
      queryState,
      canCalculateChanges: !threadDependent(q),
    };
    let ids: string[];
    let start: number;
    let total: number;
    const box = anchor === null ? fastMailbox(q) : null;
    const pageKey = `${box}\n${position}\n${limit}\n${calculateTotal}`;
    const kept = box === null ? undefined : this.pages.get(storeId, queryState, pageKey);
    if (kept) {
      ({ ids, start, total } = kept);
    } else if (box !== null) {
      let first = position;
      let known: number | null = null;
      if (position < 0) {
        known = this.store.jmap.queryMailbox(storeId, box, 0, 0, true)?.total ?? 0;
        first = Math.max(0, known + position);
      }
      const page = this.store.jmap.queryMailbox(storeId, box, first, limit, calculateTotal && known === null);
      ids = page?.ids ?? [];
      start = first;
      total = known ?? page?.total ?? 0;
      this.pages.set(storeId, queryState, pageKey, { ids, start, total });
    } else {
      const all = await this.results(storeId, q, queryState);
      total = all.length;
      if (anchor !== null) {
        const at = all.indexOf(anchor);
        if (at < 0) throw new MethodError('anchorNotFound', `"${anchor}" is not in the results`);
        start = Math.max(0, at + anchorOffset);
      } else {
        start = position < 0 ? Math.max(0, total + position) : position;
      }
      ids = all.slice(start, start + limit);
    }
    out.position = start;
    // A copy: the kept page must not change if a later call (by a result reference) alters the list.
    out.ids = ids.slice();
    if (calculateTotal) out.total = total;
    if (requested === null || requested > limit) out.limit = limit;
    return out;
  }

  /**
   * Email/queryChanges (RFC 8620 5.6). From Email/changes since sinceQueryState: every updated or
   * destroyed Email is "removed" and every created or updated one still in the results is "added" at
   * its index - exact for any query whose results depend on each Email alone (RFC 8620 5.6 lets removed
   * name ids the client never had). A query that reaches across a thread (collapseThreads, the
   * *InThreadHaveKeyword filters and sorts) gets cannotCalculateChanges: one Email's change moves others.
   */
  async queryChanges(
    args: Record<string, unknown>,
    accountId: string,
    storeId: number,
  ): Promise<Record<string, unknown>> {
    const q = parseQuery(args);
    const since = args.sinceQueryState;
    if (typeof since !== 'string') throw invalid('"sinceQueryState" must be a string');
    const maxChanges = unsignedInt(args, 'maxChanges', null);
    if (maxChanges === 0) throw invalid('"maxChanges" must be greater than 0');
    const upToId = args.upToId ?? null;
    if (upToId !== null && !isJmapId(upToId)) throw invalid('"upToId" must be an Email id');
    const calculateTotal = bool(args, 'calculateTotal');
    if (threadDependent(q)) {
      throw new MethodError('cannotCalculateChanges', 'this query depends on whole threads; query again');
    }
    const newState = this.store.jmap.states(storeId).Email;
    const changes = this.store.jmap.changes(storeId, 'Email', since, null);
    if (!changes.ok)
      throw new MethodError('cannotCalculateChanges', `cannot calculate changes since "${since}"`);
    const all = since === newState ? [] : await this.results(storeId, q, newState);
    const index = new Map(all.map((id, i) => [id, i]));
    const removed = [...changes.updated, ...changes.destroyed];
    const added = [...changes.created, ...changes.updated]
      .filter((id) => index.has(id))
      .map((id) => ({ id, index: index.get(id) as number }))
      .sort((a, b) => a.index - b.index);
    if (maxChanges !== null && removed.length + added.length > maxChanges) {
      throw new MethodError('tooManyChanges', `more than ${maxChanges} changes; query again`);
    }
    const out: Record<string, unknown> = {
      accountId,
      oldQueryState: since,
      newQueryState: newState,
      removed,
      added,
    };
    if (calculateTotal) {
      out.total = since === newState ? (await this.results(storeId, q, newState)).length : all.length;
    }
    return out;
  }
}

export function emailQueryHandlers(
  store: Store,
): Record<'Email/query' | 'Email/queryChanges', MethodHandler> {
  const engine = new EmailQueryEngine(store);
  return {
    'Email/query': {
      capability: MAIL_CAPABILITY,
      account: 'read',
      handle: (args, ctx) =>
        engine.query(args, ctx.account!.id, ctx.account!.storeId, () =>
          requestStates(store, ctx, ctx.account!.storeId),
        ),
    },
    'Email/queryChanges': {
      capability: MAIL_CAPABILITY,
      account: 'read',
      handle: (args, ctx) => engine.queryChanges(args, ctx.account!.id, ctx.account!.storeId),
    },
  };
}
