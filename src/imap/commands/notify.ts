// IMAP NOTIFY (RFC 5465 3.1): NOTIFY SET replaces what the session hears about, NOTIFY NONE stops it; the reports are session.ts's.
import { IMAP_NOTIFY_MAX_NAMES } from '../../config/limits.js';
import type { ImapCommand } from '../proto/command-types.js';
import { encodeMailboxName } from '../proto/mailbox-name.js';
import type { NotifyEventName } from '../proto/parse-notify.js';
import { initialStatusItems, NotifyState, type NotifyRequest, type ResolvedFilter } from '../notify.js';
import { no, type CommandContext } from './context.js';
import { accountOf, mailboxArg, statusValues } from './mailboxes.js';

type Cmd = ImapCommand & { name: 'NOTIFY' };

/** The events we deliver (RFC 5465 5); BADEVENT lists them (3.1: it "MUST list names of all events supported"). */
const SUPPORTED: readonly NotifyEventName[] = [
  'MessageNew',
  'MessageExpunge',
  'FlagChange',
  'MailboxName',
  'SubscriptionChange',
];

export function notify(ctx: CommandContext, cmd: Cmd): void {
  const account = accountOf(ctx);
  if (cmd.set === null) {
    ctx.session.notify = null;
    return;
  }
  // RFC 5465 3.1: an event we do not support (AnnotationChange and the METADATA ones: we have neither
  // ANNOTATE nor METADATA; any event-ext) is NO [BADEVENT (the supported ones)], not BAD.
  for (const g of cmd.set.groups) {
    const unsupported = [...g.events].some((e) => !SUPPORTED.includes(e)) || g.unknown.length > 0;
    if (unsupported)
      throw no('Unsupported NOTIFY event', { name: 'BADEVENT', args: `(${SUPPORTED.join(' ')})` });
  }
  // RFC 5465 5 wants BAD when MessageNew comes without MessageExpunge (or FlagChange without both); like
  // Dovecot we accept it and deliver what was asked: imaptest's notify group sends such requests.
  let names = 0;
  const request: NotifyRequest = { selected: null, groups: [] };
  for (const g of cmd.set.groups) {
    const f = g.filter;
    if (f.kind === 'selected') {
      request.selected = { delayed: f.delayed, events: g.events, fetch: g.fetch };
      continue;
    }
    let filter: ResolvedFilter;
    if (f.kind === 'subtree' || f.kind === 'mailboxes') {
      names += f.names.length;
      if (names > IMAP_NOTIFY_MAX_NAMES) throw no('Too many mailbox names', { name: 'LIMIT' });
      filter = { kind: f.kind, names: f.names.map((n) => mailboxArg(ctx, n)) };
    } else filter = { kind: f.kind === 'subscribed' ? 'subscribed' : 'personal' };
    request.groups.push({ filter, events: g.events });
  }
  const store = ctx.services.store;
  const mailboxes = store.mail.listMailboxRefs(account.id);
  const state = new NotifyState(account.id, request, mailboxes, store.mail.listSubscriptions(account.id));
  ctx.session.notify = state;
  if (!cmd.set.status) return;
  // RFC 5465 3.1: with STATUS, a STATUS response before the tagged OK for each mailbox other than the
  // selected one whose message events are now watched (items per initialStatusItems).
  const st = ctx.session.state;
  const selectedId = st.kind === 'selected' ? st.view.mailboxId : null;
  for (const ref of mailboxes) {
    if (ref.id === selectedId) continue;
    const items = initialStatusItems(state.eventsFor(ref.name));
    if (items.length === 0) continue;
    const mb = store.mail.getMailboxById(ref.id);
    if (!mb) continue;
    ctx.out.data([{ atom: 'STATUS' }, encodeMailboxName(mb.name, ctx.utf8), statusValues(ctx, mb, items)]);
  }
}
