// Mailbox/get, Mailbox/changes, Mailbox/query, Mailbox/queryChanges (RFC 8621 2.1-2.4) over the store's IMAP mailboxes.
import type { MailboxRef } from '../../store/mail-store.js';
import type { MethodContext, MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { isObject } from '../core/request.js';
import { isSupportedCollation } from '../core/session.js';
import type { MailMethodDeps } from './index.js';
import { MAIL_CAPABILITY } from './capability.js';
import { changesHandler, parseIds, parseProperties, parseWindow, pick } from './standard.js';

/** IMAP's hierarchy delimiter in stored names (store/sqlite/names.ts). */
export const DELIMITER = '/';

/**
 * Mailbox role <-> IMAP special use (RFC 8621 2: "the role ... is the same as the IMAP special-use
 * attribute, lower-cased, without the backslash"; IANA "IMAP Mailbox Name Attributes", RFC 6154, 8457).
 * INBOX has the role "inbox" by its name (RFC 8621 2, RFC 9051 5.1).
 */
export const ROLE_OF_SPECIAL_USE: Readonly<Record<string, string>> = {
  '\\All': 'all',
  '\\Archive': 'archive',
  '\\Drafts': 'drafts',
  '\\Flagged': 'flagged',
  '\\Important': 'important',
  '\\Junk': 'junk',
  '\\Sent': 'sent',
  '\\Trash': 'trash',
};
export const SPECIAL_USE_OF_ROLE: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(ROLE_OF_SPECIAL_USE).map(([use, role]) => [role, use]),
);

export function roleOf(box: Pick<MailboxRef, 'name' | 'specialUse'>): string | null {
  if (box.name === 'INBOX') return 'inbox';
  return box.specialUse === null ? null : (ROLE_OF_SPECIAL_USE[box.specialUse] ?? null);
}

/**
 * sortOrder (RFC 8621 2: "Mailboxes with equal order SHOULD be sorted in alphabetical order by name"):
 * the server's order of the roles, so clients that sort by it show Inbox, Drafts, Sent... first (the
 * order Fastmail and Thunderbird use); every other mailbox 100 and by name. A sortOrder the client set
 * (Mailbox/set) is stored and wins.
 */
const ROLE_ORDER = ['inbox', 'drafts', 'sent', 'archive', 'junk', 'trash', 'all', 'flagged', 'important'];
export function sortOrderOf(role: string | null): number {
  const i = role === null ? -1 : ROLE_ORDER.indexOf(role);
  return i < 0 ? 100 : i + 1;
}

export const MAILBOX_PROPERTIES = [
  'id',
  'name',
  'parentId',
  'role',
  'sortOrder',
  'totalEmails',
  'unreadEmails',
  'totalThreads',
  'unreadThreads',
  'myRights',
  'isSubscribed',
] as const;
const KNOWN = new Set<string>(MAILBOX_PROPERTIES);
/** The properties that change when only counts do (RFC 8621 2.2 updatedProperties). */
export const COUNT_PROPERTIES = ['totalEmails', 'unreadEmails', 'totalThreads', 'unreadThreads'];

/** A Mailbox as JMAP shows it, plus the store's name for the methods that act on it. */
export interface JmapMailbox extends Record<string, unknown> {
  id: string;
  name: string;
  parentId: string | null;
  role: string | null;
  sortOrder: number;
  isSubscribed: boolean;
  /** The IMAP name, '/'-separated (not a JMAP property). */
  fullName: string;
  rowId: number;
  /** The mailbox's HIGHESTMODSEQ (not a JMAP property). */
  modseq: number;
}

/** The account's mailboxes as JMAP objects without counts (cheap: one list query and the subscriptions). */
export function listJmapMailboxes(deps: MailMethodDeps, storeAccountId: number): JmapMailbox[] {
  const boxes = deps.store.mail.listMailboxRefs(storeAccountId);
  const subscribed = new Set(deps.store.mail.listSubscriptions(storeAccountId));
  const byName = new Map(boxes.map((b) => [b.name, b]));
  return boxes.map((b) => {
    const cut = b.name.lastIndexOf(DELIMITER);
    const parent = cut < 0 ? undefined : byName.get(b.name.slice(0, cut));
    const role = roleOf(b);
    return {
      id: deps.store.jmap.mailboxObjectId(b.id),
      name: cut < 0 ? b.name : b.name.slice(cut + 1),
      parentId: parent ? deps.store.jmap.mailboxObjectId(parent.id) : null,
      role,
      sortOrder: b.sortOrder ?? sortOrderOf(role),
      isSubscribed: subscribed.has(b.name),
      fullName: b.name,
      rowId: b.id,
      modseq: b.highestModseq,
    };
  });
}

/**
 * myRights (RFC 8621 2.4): the owner may do everything except what IMAP cannot: INBOX is neither
 * renamed (IMAP RENAME of INBOX moves its mail instead, RFC 9051 6.3.6) nor deleted.
 */
function rightsOf(box: JmapMailbox): Record<string, boolean> {
  const inbox = box.fullName === 'INBOX';
  return {
    mayReadItems: true,
    mayAddItems: true,
    mayRemoveItems: true,
    maySetSeen: true,
    maySetKeywords: true,
    mayCreateChild: true,
    mayRename: !inbox,
    mayDelete: !inbox,
    maySubmit: true,
  };
}

type Counts = { totalEmails: number; unreadEmails: number; totalThreads: number; unreadThreads: number };

/**
 * Mailbox counts cost a scan of the mailbox's rows (jmap-store.ts mailboxCounts: ~80 ms at 100,000), so
 * they are kept per mailbox with what they depend on: the mailbox's rows (every append, flag change and
 * expunge moves its HIGHESTMODSEQ, RFC 7162 3.1) and the account's threads (totalThreads changes when
 * threads merge, which moves the Thread state). Marking a message read recounts that one mailbox, not
 * every mailbox of the account. Bounded by `max` entries.
 */
export class MailboxCountCache {
  private readonly entries = new Map<number, { key: string; counts: Counts }>();
  constructor(private readonly max = 10_000) {}

  /** `key`: what the counts depend on (see above); a different key recounts. */
  get(deps: MailMethodDeps, storeAccountId: number, box: JmapMailbox, key: string): Counts {
    const hit = this.entries.get(box.rowId);
    if (hit && hit.key === key) return hit.counts;
    const counts = deps.store.jmap.mailboxCounts(storeAccountId, box.id) ?? {
      totalEmails: 0,
      unreadEmails: 0,
      totalThreads: 0,
      unreadThreads: 0,
    };
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as number);
    this.entries.set(box.rowId, { key, counts });
    return counts;
  }
}

export function mailboxGet(deps: MailMethodDeps, cache: MailboxCountCache): MethodHandler {
  return {
    capability: MAIL_CAPABILITY,
    account: 'read',
    handle(args, ctx) {
      const account = ctx.account!;
      const ids = parseIds(args.ids, ctx);
      const properties = parseProperties(args.properties, KNOWN, MAILBOX_PROPERTIES);
      const states = deps.store.jmap.states(account.storeId);
      const state = states.Mailbox;
      const boxes = listJmapMailboxes(deps, account.storeId);
      const byId = new Map(boxes.map((b) => [b.id, b]));
      const wanted = ids === null ? boxes : ids.map((id) => byId.get(id) ?? id);
      const withCounts = properties.some((p) => COUNT_PROPERTIES.includes(p));
      const list: Record<string, unknown>[] = [];
      const notFound: string[] = [];
      for (const box of wanted) {
        if (typeof box === 'string') {
          notFound.push(box);
          continue;
        }
        const full: Record<string, unknown> = { ...box, myRights: rightsOf(box) };
        if (withCounts) {
          Object.assign(full, cache.get(deps, account.storeId, box, `${box.modseq}/${states.Thread}`));
        }
        list.push(pick(full, properties));
      }
      return { accountId: account.id, state, list, notFound };
    },
  };
}

export function mailboxChanges(deps: MailMethodDeps): MethodHandler {
  // RFC 8621 2.2: when only counts changed, updatedProperties names them so a client fetches only those.
  return changesHandler(MAIL_CAPABILITY, deps.store, 'Mailbox', (countsOnly) => ({
    updatedProperties: countsOnly ? COUNT_PROPERTIES : null,
  }));
}

/** Mailbox/query FilterCondition (RFC 8621 2.3) and FilterOperator (RFC 8620 5.5). */
type Filter = (box: JmapMailbox) => boolean;

const CONDITION_KEYS = new Set(['parentId', 'name', 'role', 'hasAnyRole', 'isSubscribed']);

function compileFilter(value: unknown, depth = 0): Filter {
  if (!isObject(value) || depth > 32) throw new MethodError('invalidArguments', 'a filter must be an object');
  if ('operator' in value) {
    const { operator, conditions } = value;
    if (!Array.isArray(conditions))
      throw new MethodError('invalidArguments', 'a FilterOperator needs "conditions"');
    const parts = conditions.map((c) => compileFilter(c, depth + 1));
    if (operator === 'AND') return (b) => parts.every((f) => f(b));
    if (operator === 'OR') return (b) => parts.some((f) => f(b));
    if (operator === 'NOT') return (b) => !parts.some((f) => f(b));
    throw new MethodError('unsupportedFilter', 'operator must be AND, OR or NOT');
  }
  const tests: Filter[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (!CONDITION_KEYS.has(key))
      throw new MethodError('unsupportedFilter', `unknown filter property "${key}"`);
    if (key === 'parentId') {
      if (v !== null && typeof v !== 'string')
        throw new MethodError('invalidArguments', 'parentId must be an id or null');
      tests.push((b) => b.parentId === v);
    } else if (key === 'name') {
      if (typeof v !== 'string') throw new MethodError('invalidArguments', 'name must be a string');
      // RFC 8621 2.3: "contains the given string", case-insensitively (the default collation, i;unicode-casemap).
      const needle = v.toLocaleLowerCase('und');
      tests.push((b) => b.name.toLocaleLowerCase('und').includes(needle));
    } else if (key === 'role') {
      if (v !== null && typeof v !== 'string')
        throw new MethodError('invalidArguments', 'role must be a string or null');
      tests.push((b) => b.role === v);
    } else if (key === 'hasAnyRole') {
      if (typeof v !== 'boolean') throw new MethodError('invalidArguments', 'hasAnyRole must be a boolean');
      tests.push((b) => (b.role !== null) === v);
    } else {
      if (typeof v !== 'boolean') throw new MethodError('invalidArguments', 'isSubscribed must be a boolean');
      tests.push((b) => b.isSubscribed === v);
    }
  }
  return (b) => tests.every((t) => t(b));
}

type Compare = (a: JmapMailbox, b: JmapMailbox) => number;

function compileSort(value: unknown): Compare {
  if (value === undefined || value === null) return () => 0;
  if (!Array.isArray(value)) throw new MethodError('invalidArguments', '"sort" must be an array');
  const comparators: Compare[] = value.map((c) => {
    if (!isObject(c) || typeof c.property !== 'string') {
      throw new MethodError('invalidArguments', 'a Comparator needs "property"');
    }
    if (
      c.collation !== undefined &&
      (typeof c.collation !== 'string' || !isSupportedCollation(c.collation))
    ) {
      throw new MethodError('unsupportedSort', `unsupported collation "${String(c.collation)}"`);
    }
    const sign = c.isAscending === false ? -1 : 1;
    if (c.property === 'sortOrder') return (a, b) => sign * (a.sortOrder - b.sortOrder);
    if (c.property === 'name')
      return (a, b) => sign * a.name.localeCompare(b.name, 'und', { sensitivity: 'base' });
    throw new MethodError('unsupportedSort', `cannot sort Mailboxes by "${c.property}"`);
  });
  return (a, b) => {
    for (const cmp of comparators) {
      const r = cmp(a, b);
      if (r !== 0) return r;
    }
    return 0;
  };
}

/**
 * The query's ids in order. sortAsTree (RFC 8621 2.3): parents before their children, siblings by the
 * sort; filterAsTree: a mailbox is in only when it and all its ancestors match.
 */
export function queryMailboxIds(
  boxes: readonly JmapMailbox[],
  filter: Filter,
  compare: Compare,
  sortAsTree: boolean,
  filterAsTree: boolean,
): string[] {
  const byId = new Map(boxes.map((b) => [b.id, b]));
  let matching = boxes.filter(filter);
  if (filterAsTree) {
    const ok = (b: JmapMailbox): boolean => {
      for (let p = b.parentId; p !== null;) {
        const parent = byId.get(p);
        if (!parent || !filter(parent)) return false;
        p = parent.parentId;
      }
      return true;
    };
    matching = matching.filter(ok);
  }
  // Ties by the store's own order (INBOX first, then by name) for a stable result.
  const rank = new Map(boxes.map((b, i) => [b.id, i]));
  const cmp: Compare = (a, b) => compare(a, b) || rank.get(a.id)! - rank.get(b.id)!;
  if (!sortAsTree) return matching.sort(cmp).map((b) => b.id);
  const kids = new Map<string | null, JmapMailbox[]>();
  const present = new Set(matching.map((b) => b.id));
  for (const b of matching) {
    // A matching mailbox whose parent did not match is a root of its own subtree here.
    const key = b.parentId !== null && present.has(b.parentId) ? b.parentId : null;
    const list = kids.get(key) ?? [];
    list.push(b);
    kids.set(key, list);
  }
  const out: string[] = [];
  const walk = (parent: string | null) => {
    for (const b of (kids.get(parent) ?? []).sort(cmp)) {
      out.push(b.id);
      walk(b.id);
    }
  };
  walk(null);
  return out;
}

export function mailboxQuery(deps: MailMethodDeps): MethodHandler {
  return {
    capability: MAIL_CAPABILITY,
    account: 'read',
    handle(args, ctx: MethodContext) {
      const account = ctx.account!;
      const filter =
        args.filter === undefined || args.filter === null ? () => true : compileFilter(args.filter);
      const compare = compileSort(args.sort);
      const { position, limit } = parseWindow(args);
      for (const flag of ['sortAsTree', 'filterAsTree', 'calculateTotal'] as const) {
        if (args[flag] !== undefined && typeof args[flag] !== 'boolean') {
          throw new MethodError('invalidArguments', `"${flag}" must be a boolean`);
        }
      }
      const state = deps.store.jmap.states(account.storeId).Mailbox;
      const all = queryMailboxIds(
        listJmapMailboxes(deps, account.storeId),
        filter,
        compare,
        args.sortAsTree === true,
        args.filterAsTree === true,
      );
      let start = position < 0 ? Math.max(0, all.length + position) : Math.min(position, all.length);
      if (args.anchor !== undefined && args.anchor !== null) {
        if (typeof args.anchor !== 'string')
          throw new MethodError('invalidArguments', '"anchor" must be an id');
        const at = all.indexOf(args.anchor);
        if (at < 0) throw new MethodError('anchorNotFound', 'the anchor is not in the results');
        const offset = typeof args.anchorOffset === 'number' ? args.anchorOffset : 0;
        start = Math.max(0, at + offset);
      }
      const ids = all.slice(start, limit === null ? undefined : start + limit);
      return {
        accountId: account.id,
        queryState: state,
        // Mailbox/queryChanges answers cannotCalculateChanges: an account has a few hundred mailboxes at
        // most, and a client re-runs the query as cheaply as it would apply changes (RFC 8620 5.6).
        canCalculateChanges: false,
        position: start,
        ids,
        ...(args.calculateTotal === true ? { total: all.length } : {}),
      };
    },
  };
}

/** Mailbox/queryChanges (RFC 8620 5.6): the query does not keep what it returned, so always cannotCalculateChanges. */
export const mailboxQueryChanges: MethodHandler = {
  capability: MAIL_CAPABILITY,
  account: 'read',
  handle(args) {
    if (typeof args.sinceQueryState !== 'string') {
      throw new MethodError('invalidArguments', '"sinceQueryState" must be a string');
    }
    throw new MethodError('cannotCalculateChanges', 'Mailbox/query results are not tracked; query again');
  },
};
