// NOTIFY (RFC 5465): what a session asked to hear about, which mailboxes that covers, and the STATUS and LIST responses owed.
//
// The rules are pure functions of the request, the mailbox names and what changed; `notifyMailboxes`
// reads the store (as view-sync.ts does) to turn a change into the STATUS or LIST the client is owed.
// Changes arrive as store events (connection.ts: MailboxWatch.watchAccount): the kind of event says
// which RFC 5465 5 event it is (message: MessageNew, expunge: MessageExpunge, flags: FlagChange,
// mailboxes: MailboxName and SubscriptionChange), so nothing is polled and no per-mailbox baseline kept.
import { IMAP_NOTIFY_MAX_PENDING } from '../config/limits.js';
import type { Mailbox } from '../store/store.js';
import type { MailboxRef, MailStore } from '../store/mail-store.js';
import type { FetchItem, StatusItem } from './proto/command-types.js';
import { DELIMITER } from './proto/mailbox-name.js';
import type { NotifyEventName } from './proto/parse-notify.js';

/** A non-selected event group with its names decoded (RFC 5465 6.2-6.6). */
export type ResolvedFilter =
  { kind: 'personal' | 'subscribed' } | { kind: 'subtree' | 'mailboxes'; names: string[] };

export interface NotifyRequest {
  /** SELECTED / SELECTED-DELAYED (RFC 5465 6.1), null when not given (the same as SELECTED NONE). */
  selected: { delayed: boolean; events: ReadonlySet<NotifyEventName>; fetch: FetchItem[] | null } | null;
  groups: Array<{ filter: ResolvedFilter; events: ReadonlySet<NotifyEventName> }>;
}

/** The change kinds a store event stands for (RFC 5465 5.1-5.5). */
export type ChangeKind = 'message' | 'expunge' | 'flags' | 'mailboxes';

/** One session's NOTIFY state: the request, and what happened since it last reported. */
export class NotifyState {
  /** Mailboxes with message changes not yet reported, and which kinds. */
  readonly dirty = new Map<number, Set<ChangeKind>>();
  /** Mailbox names or subscriptions may have changed (a `mailboxes` event). */
  namesDirty = false;
  /** Events noted since the last report (RFC 5465 5.8 overflow past IMAP_NOTIFY_MAX_PENDING). */
  pending = 0;
  overflowed = false;
  /** Mailbox names by id and the subscribed names, as last reported (MailboxName/SubscriptionChange diffs). */
  names: Map<number, string>;
  subscriptions: Set<string>;

  constructor(
    readonly accountId: number,
    readonly request: NotifyRequest,
    mailboxes: ReadonlyArray<{ id: number; name: string }>,
    subscriptions: readonly string[],
    private readonly maxPending = IMAP_NOTIFY_MAX_PENDING,
  ) {
    this.names = new Map(mailboxes.map((m) => [m.id, m.name]));
    this.subscriptions = new Set(subscriptions);
  }

  /** A store event for this account. Returns true when there may be something to report. */
  note(kind: ChangeKind, mailboxId: number | null): boolean {
    if (this.overflowed) return true;
    if (++this.pending > this.maxPending) {
      this.overflowed = true;
      this.dirty.clear();
      this.namesDirty = false;
      return true;
    }
    if (kind === 'mailboxes' || mailboxId === null) this.namesDirty = true;
    else {
      let kinds = this.dirty.get(mailboxId);
      if (!kinds) this.dirty.set(mailboxId, (kinds = new Set()));
      kinds.add(kind);
    }
    return true;
  }

  get hasPending(): boolean {
    return this.overflowed || this.namesDirty || this.dirty.size > 0;
  }

  /** The events asked for a (non-selected) mailbox name: the union over the groups that cover it. */
  eventsFor(name: string): Set<NotifyEventName> {
    const out = new Set<NotifyEventName>();
    for (const g of this.request.groups) {
      if (filterCovers(g.filter, name, this.subscriptions)) for (const e of g.events) out.add(e);
    }
    return out;
  }

  /** Whether the selected mailbox gets unsolicited message updates between commands (RFC 5465 6.1). */
  get selectedEvents(): ReadonlySet<NotifyEventName> {
    return this.request.selected?.events ?? new Set();
  }
}

/** RFC 5465 6: whether a filter covers a mailbox name. INBOX is spelled 'INBOX' (names are normalised). */
export function filterCovers(filter: ResolvedFilter, name: string, subscribed: ReadonlySet<string>): boolean {
  switch (filter.kind) {
    case 'personal':
      // 6.2 / 6.3: every mailbox is in the user's one personal namespace, and "inboxes" is "personal"
      // (a server that "cannot easily compute this set ... MUST treat inboxes as equivalent").
      return true;
    case 'subscribed':
      return subscribed.has(name);
    case 'subtree':
      // 6.5: the mailbox itself and every mailbox below it.
      return filter.names.some((n) => name === n || name.startsWith(n + DELIMITER));
    case 'mailboxes':
      // 6.6: exact names, no wildcard expansion.
      return filter.names.includes(name);
  }
}

/**
 * RFC 5465 3.1: the STATUS items NOTIFY SET STATUS sends for a mailbox with these events: MESSAGES,
 * UIDNEXT and UIDVALIDITY for MessageNew, MESSAGES for MessageExpunge, UIDVALIDITY and HIGHESTMODSEQ for
 * FlagChange (we support CONDSTORE). Empty: no STATUS. In the order STATUS items are usually written.
 */
export function initialStatusItems(events: ReadonlySet<NotifyEventName>): StatusItem[] {
  const want = new Set<StatusItem>();
  if (events.has('MessageNew') || events.has('MessageExpunge')) want.add('MESSAGES');
  if (events.has('MessageNew')) {
    want.add('UIDNEXT');
    want.add('UIDVALIDITY');
  }
  if (events.has('FlagChange')) {
    want.add('UIDVALIDITY');
    want.add('HIGHESTMODSEQ');
  }
  return ORDER.filter((i) => want.has(i));
}

const ORDER: StatusItem[] = ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ'];

/**
 * The STATUS items owed for changes of these kinds to a non-selected mailbox, or [] when none of them was
 * asked for. RFC 5465 5.2 (MessageNew) and 5.3 (MessageExpunge): UIDNEXT and MESSAGES, HIGHESTMODSEQ too
 * with CONDSTORE/QRESYNC; 5.1 (FlagChange): HIGHESTMODSEQ and UIDVALIDITY with CONDSTORE, and UNSEEN (which
 * the server MAY send, so a client without CONDSTORE hears of flag changes at all). UNSEEN goes with new
 * and expunged messages too: it is what a client shows next to the folder.
 */
export function changeStatusItems(
  kinds: ReadonlySet<ChangeKind>,
  events: ReadonlySet<NotifyEventName>,
  condstore: boolean,
): StatusItem[] {
  const want = new Set<StatusItem>();
  const messages =
    (kinds.has('message') && events.has('MessageNew')) ||
    (kinds.has('expunge') && events.has('MessageExpunge'));
  const flags = kinds.has('flags') && events.has('FlagChange');
  if (messages) for (const i of ['MESSAGES', 'UIDNEXT', 'UNSEEN'] as const) want.add(i);
  if (flags) {
    want.add('UNSEEN');
    if (condstore) want.add('UIDVALIDITY');
  }
  if ((messages || flags) && condstore) want.add('HIGHESTMODSEQ');
  return ORDER.filter((i) => want.has(i));
}

/** One LIST response owed (RFC 5465 5.4, 5.5): a name, its mailbox (null: gone), and OLDNAME for a rename. */
export interface ListNotice {
  name: string;
  mailbox: MailboxRef | null;
  subscribed: boolean;
  oldName: string | null;
}

/**
 * The LIST responses owed for what changed between the last reported names and subscriptions and the
 * current ones: created (5.4: LIST), deleted (LIST (\NonExistent)), renamed (LIST with OLDNAME, once for
 * the renamed mailbox and none for its children, which were renamed with it) when MailboxName covers the
 * name; (un)subscribed (5.5: LIST, \Subscribed iff subscribed now) when SubscriptionChange covers it.
 */
export function nameNotices(
  state: NotifyState,
  now: readonly MailboxRef[],
  subscriptions: readonly string[],
): ListNotice[] {
  const out: ListNotice[] = [];
  const subs = new Set(subscriptions);
  const byId = new Map(now.map((m) => [m.id, m]));
  const byName = new Map(now.map((m) => [m.name, m]));
  const wants = (name: string, event: NotifyEventName, set: ReadonlySet<string>): boolean =>
    state.request.groups.some((g) => g.events.has(event) && filterCovers(g.filter, name, set));
  const renamed = new Map<string, string>(); // old name -> new name
  for (const [id, oldName] of state.names) {
    const m = byId.get(id);
    if (m && m.name !== oldName) renamed.set(oldName, m.name);
  }
  const childOfRenamed = (oldName: string): boolean => {
    for (const parent of renamed.keys()) if (oldName.startsWith(parent + DELIMITER)) return true;
    return false;
  };
  for (const [id, oldName] of state.names) {
    const m = byId.get(id);
    if (!m) {
      if (wants(oldName, 'MailboxName', state.subscriptions))
        out.push({ name: oldName, mailbox: null, subscribed: subs.has(oldName), oldName: null });
    } else if (m.name !== oldName && !childOfRenamed(oldName)) {
      if (wants(oldName, 'MailboxName', state.subscriptions) || wants(m.name, 'MailboxName', subs))
        out.push({ name: m.name, mailbox: m, subscribed: subs.has(m.name), oldName });
    }
  }
  for (const m of now) {
    if (!state.names.has(m.id) && wants(m.name, 'MailboxName', subs))
      out.push({ name: m.name, mailbox: m, subscribed: subs.has(m.name), oldName: null });
  }
  const changedSubs = [
    ...[...subs].filter((n) => !state.subscriptions.has(n)),
    ...[...state.subscriptions].filter((n) => !subs.has(n)),
  ];
  for (const name of changedSubs) {
    // Covered before or after the change: "subscribed" covers a name being unsubscribed too.
    if (wants(name, 'SubscriptionChange', state.subscriptions) || wants(name, 'SubscriptionChange', subs))
      out.push({ name, mailbox: byName.get(name) ?? null, subscribed: subs.has(name), oldName: null });
  }
  state.names = new Map(now.map((m) => [m.id, m.name]));
  state.subscriptions = subs;
  return out;
}

/** The attributes of a notice's LIST response (RFC 5465 5.4: \NonExistent, \Subscribed, children). */
export function noticeAttributes(n: ListNotice, all: readonly MailboxRef[]): string[] {
  const attrs: string[] = [];
  if (n.mailbox === null) attrs.push('\\NonExistent');
  else {
    const prefix = n.name + DELIMITER;
    attrs.push(all.some((m) => m.name.startsWith(prefix)) ? '\\HasChildren' : '\\HasNoChildren');
  }
  if (n.subscribed) attrs.push('\\Subscribed');
  if (n.mailbox?.specialUse) attrs.push(n.mailbox.specialUse);
  return attrs;
}

/** The dirty mailboxes (minus the selected one, whose message events SELECTED governs) and their current rows. */
export function dirtyMailboxes(
  state: NotifyState,
  store: MailStore,
  selectedId: number | null,
): Array<{ mailbox: Mailbox; kinds: Set<ChangeKind> }> {
  const out: Array<{ mailbox: Mailbox; kinds: Set<ChangeKind> }> = [];
  for (const [id, kinds] of state.dirty) {
    if (id === selectedId) continue;
    const mb = store.getMailboxById(id);
    if (mb && mb.accountId === state.accountId) out.push({ mailbox: mb, kinds });
  }
  state.dirty.clear();
  return out;
}
