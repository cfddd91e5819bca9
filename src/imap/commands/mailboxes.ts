// IMAP mailbox commands (RFC 9051 6.3): CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS; LIST and LSUB are in list.ts.
import type { MailboxRef } from '../../store/mail-store.js';
import type { Account, Mailbox } from '../../store/store.js';
import { MailroomError } from '../../errors.js';
import type { ImapCommand, StatusItem } from '../proto/command-types.js';
import {
  decodeMailboxName,
  DELIMITER,
  encodeMailboxName,
  mailboxNameProblem,
} from '../proto/mailbox-name.js';
import type { ImapValue } from '../proto/response-writer.js';
import { ImapSyntaxError } from '../proto/types.js';
import { bad, enableCondstore, no, type CommandContext } from './context.js';
import type { Done } from './index.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

export function accountOf(ctx: CommandContext): Account {
  const st = ctx.session.state;
  if (st.kind !== 'authenticated' && st.kind !== 'selected') throw bad('Not logged in');
  return st.account;
}

/**
 * A mailbox name argument as sent -> the stored name (modified UTF-7 unless UTF-8 is in force).
 * A name that does not decode is still a syntactically valid astring (RFC 9051 9: mailbox), so it is
 * not BAD: no mailbox can have it, so it is NO [NONEXISTENT] where a mailbox is looked up, and
 * NO [CANNOT] where one would be made (`invalid`), as Dovecot answers (imaptest "atoms").
 */
export function mailboxArg(
  ctx: CommandContext,
  wire: string,
  invalid: 'NONEXISTENT' | 'CANNOT' = 'NONEXISTENT',
): string {
  try {
    return decodeMailboxName(wire, ctx.utf8);
  } catch (err) {
    if (err instanceof ImapSyntaxError) throw no(err.message, { name: invalid });
    throw err;
  }
}

/** Like existing(), without the message count (SELECT, APPEND, COPY/MOVE: counting costs a scan). */
export function existingRef(ctx: CommandContext, wire: string, tryCreate = false): MailboxRef {
  const mb = ctx.services.store.mail.findMailbox(accountOf(ctx).id, mailboxArg(ctx, wire));
  // RFC 9051 6.3.12 / 6.4.7: [TRYCREATE] tells APPEND and COPY clients that CREATE would help.
  if (!mb) throw no('No such mailbox', { name: tryCreate ? 'TRYCREATE' : 'NONEXISTENT' });
  return mb;
}

export function existing(ctx: CommandContext, wire: string, tryCreate = false): Mailbox {
  const name = mailboxArg(ctx, wire);
  const mb = ctx.services.store.getMailbox(accountOf(ctx).id, name);
  // RFC 9051 6.3.12 / 6.4.7: [TRYCREATE] tells APPEND and COPY clients that CREATE would help.
  if (!mb) throw no('No such mailbox', { name: tryCreate ? 'TRYCREATE' : 'NONEXISTENT' });
  return mb;
}

/**
 * The special uses CREATE may give (RFC 6154 2, RFC 8457 \Important: the IANA list JMAP's roles mirror),
 * looked up case-insensitively as flags are (RFC 9051 2.3.2), stored in their registered spelling.
 */
const SPECIAL_USES: ReadonlyMap<string, string> = new Map(
  ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Important', '\\Junk', '\\Sent', '\\Trash'].map((u) => [
    u.toLowerCase(),
    u,
  ]),
);

/**
 * RFC 6154 3: CREATE name (USE (...)). A use the server cannot give is NO [USEATTR] and nothing is
 * created. One use per mailbox and one mailbox per use in an account: a special use is the mailbox's
 * JMAP role (RFC 8621 2), which JMAP lets only one mailbox of an account have (jmap/mail/mailbox-set.ts).
 */
function specialUseOf(ctx: CommandContext, requested: readonly string[]): string | null {
  if (requested.length > 1) throw no('One special use per mailbox', { name: 'USEATTR' });
  if (requested.length === 0) return null;
  const use = SPECIAL_USES.get((requested[0] as string).toLowerCase());
  if (use === undefined) throw no('Unknown special use', { name: 'USEATTR' });
  const holder = ctx.services.store.mail.listMailboxRefs(accountOf(ctx).id).find((b) => b.specialUse === use);
  if (holder) throw no(`${use} is already the use of another mailbox`, { name: 'USEATTR' });
  return use;
}

export function create(ctx: CommandContext, cmd: Cmd<'CREATE'>): Done {
  // RFC 9051 6.3.4: a trailing delimiter only says the client plans children; drop it.
  let name = mailboxArg(ctx, cmd.mailbox, 'CANNOT');
  if (name.endsWith(DELIMITER)) name = name.slice(0, -1);
  const problem = mailboxNameProblem(name);
  if (problem) throw no(problem, { name: 'CANNOT' });
  if (name === 'INBOX') throw no('INBOX already exists', { name: 'ALREADYEXISTS' });
  // An existing name is ALREADYEXISTS (RFC 5530 3) whatever use was asked for with it.
  if (cmd.specialUse.length > 0 && ctx.services.store.mail.findMailbox(accountOf(ctx).id, name)) {
    throw no(`mailbox ${name} already exists`, { name: 'ALREADYEXISTS' });
  }
  const use = specialUseOf(ctx, cmd.specialUse);
  const mb = ctx.services.store.mail.createMailbox(accountOf(ctx).id, name, use);
  // RFC 8474 4.1: the new mailbox's id in the tagged OK.
  return {
    code: { name: 'MAILBOXID', args: `(${ctx.services.store.jmap.mailboxObjectId(mb.id)})` },
    text: 'CREATE completed',
  };
}

export function del(ctx: CommandContext, cmd: Cmd<'DELETE'>): void {
  const name = mailboxArg(ctx, cmd.mailbox);
  const st = ctx.session.state;
  ctx.services.store.mail.deleteMailbox(accountOf(ctx).id, name);
  if (st.kind === 'selected' && st.view.name === name) {
    ctx.session.state = { kind: 'authenticated', account: st.account };
  }
}

export function rename(ctx: CommandContext, cmd: Cmd<'RENAME'>): void {
  const from = mailboxArg(ctx, cmd.from);
  const to = mailboxArg(ctx, cmd.to, 'CANNOT');
  const problem = mailboxNameProblem(to);
  if (problem) throw no(problem, { name: 'CANNOT' });
  ctx.services.store.mail.renameMailbox(accountOf(ctx).id, from, to);
}

/**
 * SUBSCRIBE takes any well-formed name, existing or not: RFC 9051 6.3.7 lets the server refuse a name
 * that does not exist but does not ask it to, Dovecot accepts it, and the name may be created later.
 * UNSUBSCRIBE of a name not in the list is NO (RFC 9051 6.3.8 "unsubscribe failure").
 */
export function subscribe(ctx: CommandContext, cmd: Cmd<'SUBSCRIBE' | 'UNSUBSCRIBE'>): void {
  const name = mailboxArg(ctx, cmd.mailbox, cmd.name === 'SUBSCRIBE' ? 'CANNOT' : 'NONEXISTENT');
  const on = cmd.name === 'SUBSCRIBE';
  if (on) {
    const problem = mailboxNameProblem(name);
    if (problem) throw no(problem, { name: 'CANNOT' });
  }
  try {
    ctx.services.store.mail.setSubscribed(accountOf(ctx).id, name, on);
  } catch (err) {
    if (err instanceof MailroomError && err.code === 'NOT_SUBSCRIBED') throw no('Not subscribed');
    throw err;
  }
}

/** The values of a STATUS response for the asked items (RFC 9051 7.3.4). */
export function statusValues(ctx: CommandContext, mb: Mailbox, items: readonly StatusItem[]): ImapValue[] {
  const needsCounts = items.some(
    (i) => i === 'UNSEEN' || i === 'DELETED' || i === 'SIZE' || i === 'DELETED-STORAGE',
  );
  const c = needsCounts ? ctx.services.store.mail.counts(mb.id) : null;
  const out: ImapValue[] = [];
  for (const item of items) {
    out.push({ atom: item });
    switch (item) {
      case 'MESSAGES':
        out.push(mb.messageCount);
        break;
      case 'UIDNEXT':
        out.push(mb.uidNext);
        break;
      case 'UIDVALIDITY':
        out.push(mb.uidValidity);
        break;
      case 'UNSEEN':
        out.push(c?.unseen ?? 0);
        break;
      case 'DELETED':
        out.push(c?.deleted ?? 0);
        break;
      case 'SIZE':
        out.push(c?.size ?? 0);
        break;
      case 'DELETED-STORAGE':
        out.push(c?.deletedSize ?? 0);
        break;
      case 'RECENT':
        // RFC 3501 6.3.10: the messages no session has claimed as \Recent (select.ts). IMAP4rev2 has
        // no \Recent (RFC 9051 appendix E), so a rev2 session that asks anyway sees none.
        out.push(ctx.session.enabled.has('IMAP4REV2') ? 0 : ctx.services.store.mail.recentCount(mb.id));
        break;
      case 'HIGHESTMODSEQ':
        out.push(mb.highestModseq);
        break;
      case 'MAILBOXID':
        out.push([{ atom: ctx.services.store.jmap.mailboxObjectId(mb.id) }]);
        break;
    }
  }
  return out;
}

export function status(ctx: CommandContext, cmd: Cmd<'STATUS'>): void {
  const mb = existing(ctx, cmd.mailbox);
  if (cmd.items.includes('HIGHESTMODSEQ')) enableCondstore(ctx);
  ctx.out.data([{ atom: 'STATUS' }, encodeMailboxName(mb.name, ctx.utf8), statusValues(ctx, mb, cmd.items)]);
}
