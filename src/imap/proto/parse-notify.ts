// NOTIFY arguments (RFC 5465 8): NOTIFY NONE / NOTIFY SET [STATUS] (filter events)...; pure, syntax only.
import { Args } from './parse-args.js';
import { parseFetchItems } from './parse-fetch.js';
import type { FetchItem } from './command-types.js';
import type { ImapToken } from './tokenizer.js';
import { ImapSyntaxError } from './types.js';

/** RFC 5465 6: which mailboxes an event group covers. Names are as sent (decoded by the handler). */
export type NotifyFilter =
  | { kind: 'selected'; delayed: boolean }
  | { kind: 'inboxes' | 'personal' | 'subscribed' }
  | { kind: 'subtree' | 'mailboxes'; names: string[] };

/** RFC 5465 8 event-name, in the spelling of the RFC (they are case-insensitive on the wire). */
export type NotifyEventName =
  | 'MessageNew'
  | 'MessageExpunge'
  | 'FlagChange'
  | 'AnnotationChange'
  | 'MailboxName'
  | 'SubscriptionChange'
  | 'MailboxMetadataChange'
  | 'ServerMetadataChange';

const EVENT_NAMES: ReadonlyMap<string, NotifyEventName> = new Map(
  (
    [
      'MessageNew',
      'MessageExpunge',
      'FlagChange',
      'AnnotationChange',
      'MailboxName',
      'SubscriptionChange',
      'MailboxMetadataChange',
      'ServerMetadataChange',
    ] as const
  ).map((n) => [n.toUpperCase(), n]),
);

/** RFC 5465 8 message-event: the events only these may name, and the only ones SELECTED may name. */
export const MESSAGE_EVENTS: ReadonlySet<NotifyEventName> = new Set([
  'MessageNew',
  'MessageExpunge',
  'FlagChange',
  'AnnotationChange',
]);

export interface NotifyGroup {
  filter: NotifyFilter;
  /** Empty for NONE (RFC 5465 8: "the client does not wish to receive any events"). */
  events: Set<NotifyEventName>;
  /** MessageNew's fetch-atts (only with SELECTED/SELECTED-DELAYED), null when not given. */
  fetch: FetchItem[] | null;
  /** event-ext atoms (RFC 5465 8) we do not know: the handler refuses them with NO [BADEVENT]. */
  unknown: string[];
}

export type NotifyArgs = { set: null } | { set: { status: boolean; groups: NotifyGroup[] } };

/** Parses NOTIFY's arguments; throws ImapSyntaxError (BAD) for what RFC 5465 5 and 8 call invalid. */
export function parseNotifyArgs(args: Args): NotifyArgs {
  const verb = args.keyword('NOTIFY SET or NONE');
  if (verb === 'NONE') {
    args.end();
    return { set: null };
  }
  if (verb !== 'SET') throw new ImapSyntaxError('NOTIFY takes SET or NONE');
  let status = false;
  if (args.peekWord() === 'STATUS') {
    args.take('STATUS');
    status = true;
  }
  const groups: NotifyGroup[] = [];
  let selected = 0;
  while (args.more()) {
    const group = parseGroup(new Args(args.list('event group')));
    if (group.filter.kind === 'selected' && ++selected > 1) {
      // RFC 5465 6.1: "Only one of the mailbox specifiers affecting the currently selected mailbox".
      throw new ImapSyntaxError('Only one of SELECTED and SELECTED-DELAYED');
    }
    groups.push(group);
  }
  if (groups.length === 0) throw new ImapSyntaxError('NOTIFY SET needs an event group');
  return { set: { status, groups } };
}

function parseGroup(g: Args): NotifyGroup {
  const filter = parseFilter(g);
  const events = new Set<NotifyEventName>();
  const unknown: string[] = [];
  let fetch: FetchItem[] | null = null;
  const t = g.take('events');
  if (t.type === 'atom' && t.value.toUpperCase() === 'NONE') {
    g.end();
    return { filter, events, fetch, unknown };
  }
  if (t.type !== 'list' || t.items.length === 0) throw new ImapSyntaxError('Expected a list of events');
  g.end();
  const e = new Args(t.items);
  while (e.more()) {
    const word = e.keyword('event');
    const name = EVENT_NAMES.get(word);
    if (name === undefined) {
      unknown.push(word.slice(0, 40));
      continue;
    }
    events.add(name);
    const next = e.peek();
    if (name === 'MessageNew' && next?.type === 'list') {
      e.take('fetch attributes');
      // RFC 5465 8: "The fetch-att list may only be present for the SELECTED/SELECTED-DELAYED filter".
      if (filter.kind !== 'selected') throw new ImapSyntaxError('Fetch attributes only with SELECTED');
      fetch = fetchAtts(next);
    }
  }
  if (filter.kind === 'selected') {
    // RFC 5465 6.1: "It is an error to specify other types of events with ... SELECTED".
    for (const n of events) {
      if (!MESSAGE_EVENTS.has(n)) throw new ImapSyntaxError(`${n} cannot be used with SELECTED`);
    }
  }
  return { filter, events, fetch, unknown };
}

function fetchAtts(t: ImapToken & { type: 'list' }): FetchItem[] {
  if (t.items.length === 0) throw new ImapSyntaxError('Empty fetch attribute list');
  return parseFetchItems(t);
}

function parseFilter(g: Args): NotifyFilter {
  const word = g.keyword('mailbox filter');
  switch (word) {
    case 'SELECTED':
      return { kind: 'selected', delayed: false };
    case 'SELECTED-DELAYED':
      return { kind: 'selected', delayed: true };
    case 'INBOXES':
      return { kind: 'inboxes' };
    case 'PERSONAL':
      return { kind: 'personal' };
    case 'SUBSCRIBED':
      return { kind: 'subscribed' };
    case 'SUBTREE':
    case 'MAILBOXES': {
      // RFC 5465 8: one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")".
      const next = g.peek();
      const names: string[] = [];
      if (next?.type === 'list') {
        const inner = new Args(g.list('mailbox names'));
        while (inner.more()) names.push(inner.astring('mailbox name'));
        if (names.length === 0) throw new ImapSyntaxError('Empty mailbox list');
      } else names.push(g.astring('mailbox name'));
      return { kind: word === 'SUBTREE' ? 'subtree' : 'mailboxes', names };
    }
    default:
      throw new ImapSyntaxError('Unknown mailbox filter');
  }
}
