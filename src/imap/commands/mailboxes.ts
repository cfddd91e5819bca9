// IMAP mailbox commands (RFC 9051 6.3): CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (RFC 5258/6154/5819), LSUB, STATUS.
import type { MailboxRef } from '../../store/mail-store.js';
import type { Account, Mailbox } from '../../store/store.js';
import type { ImapCommand, StatusItem } from '../proto/command-types.js';
import {
  combineListPattern,
  compileListPattern,
  decodeMailboxName,
  DELIMITER,
  encodeMailboxName,
  mailboxNameProblem,
} from '../proto/mailbox-name.js';
import type { ImapValue } from '../proto/response-writer.js';
import { ImapSyntaxError } from '../proto/types.js';
import { bad, no, type CommandContext } from './context.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

export function accountOf(ctx: CommandContext): Account {
  const st = ctx.session.state;
  if (st.kind !== 'authenticated' && st.kind !== 'selected') throw bad('Not logged in');
  return st.account;
}

/** A mailbox name argument as sent -> the stored name (modified UTF-7 unless UTF-8 is in force). */
export function mailboxArg(ctx: CommandContext, wire: string): string {
  try {
    return decodeMailboxName(wire, ctx.utf8);
  } catch (err) {
    if (err instanceof ImapSyntaxError) throw bad(err.message);
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

const SPECIAL_USES = new Set(['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash']);

export function create(ctx: CommandContext, cmd: Cmd<'CREATE'>): void {
  // RFC 9051 6.3.4: a trailing delimiter only says the client plans children; drop it.
  let name = mailboxArg(ctx, cmd.mailbox);
  if (name.endsWith(DELIMITER)) name = name.slice(0, -1);
  const problem = mailboxNameProblem(name);
  if (problem) throw no(problem, { name: 'CANNOT' });
  if (name === 'INBOX') throw no('INBOX already exists', { name: 'ALREADYEXISTS' });
  if (cmd.specialUse.length > 1) throw no('One special use per mailbox', { name: 'USEATTR' });
  const use = cmd.specialUse[0] ?? null;
  if (use !== null && !SPECIAL_USES.has(use)) throw no('Unknown special use', { name: 'USEATTR' });
  ctx.services.store.mail.createMailbox(accountOf(ctx).id, name, use);
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
  const to = mailboxArg(ctx, cmd.to);
  const problem = mailboxNameProblem(to);
  if (problem) throw no(problem, { name: 'CANNOT' });
  ctx.services.store.mail.renameMailbox(accountOf(ctx).id, from, to);
}

export function subscribe(ctx: CommandContext, cmd: Cmd<'SUBSCRIBE' | 'UNSUBSCRIBE'>): void {
  ctx.services.store.mail.setSubscribed(
    accountOf(ctx).id,
    mailboxArg(ctx, cmd.mailbox),
    cmd.name === 'SUBSCRIBE',
  );
}

/** The values of a STATUS response for the asked items (RFC 9051 7.3.4). */
export function statusValues(ctx: CommandContext, mb: Mailbox, items: readonly StatusItem[]): ImapValue[] {
  const needsCounts = items.some((i) => i === 'UNSEEN' || i === 'DELETED' || i === 'SIZE');
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
      case 'RECENT':
        // RFC 3501 6.3.10: the messages no session has claimed as \Recent (select.ts). IMAP4rev2 has
        // no \Recent (RFC 9051 appendix E), so a rev2 session that asks anyway sees none.
        out.push(ctx.session.enabled.has('IMAP4REV2') ? 0 : ctx.services.store.mail.recentCount(mb.id));
        break;
      case 'HIGHESTMODSEQ':
        out.push(mb.highestModseq);
        break;
    }
  }
  return out;
}

export function status(ctx: CommandContext, cmd: Cmd<'STATUS'>): void {
  const mb = existing(ctx, cmd.mailbox);
  if (cmd.items.includes('HIGHESTMODSEQ')) ctx.session.condstoreOn = true;
  ctx.out.data([{ atom: 'STATUS' }, encodeMailboxName(mb.name, ctx.utf8), statusValues(ctx, mb, cmd.items)]);
}

function hasChildren(all: readonly Mailbox[], name: string): boolean {
  const prefix = name + DELIMITER;
  return all.some((m) => m.name.startsWith(prefix));
}

/** LIST (RFC 9051 6.3.9, extended forms RFC 5258, SPECIAL-USE RFC 6154, STATUS RFC 5819) and LSUB. */
export function list(ctx: CommandContext, cmd: Cmd<'LIST' | 'LSUB'>): void {
  const account = accountOf(ctx);
  const isLsub = cmd.name === 'LSUB';
  const patterns = cmd.name === 'LIST' ? cmd.patterns : [cmd.pattern];
  const select = cmd.name === 'LIST' ? cmd.selectOptions : [];
  const ret =
    cmd.name === 'LIST'
      ? cmd.returnOptions
      : { subscribed: false, children: false, specialUse: false, status: null };
  // RFC 9051 6.3.9: an empty pattern asks for the delimiter and the root.
  if (patterns.length === 1 && patterns[0] === '') {
    ctx.out.raw(`* ${cmd.name} (\\Noselect) "${DELIMITER}" ""\r\n`);
    return;
  }
  const matchers = patterns.map((p) =>
    compileListPattern(mailboxArg(ctx, combineListPattern(cmd.reference, p))),
  );
  const all = ctx.services.store.listMailboxes(account.id);
  const onlySubscribed = isLsub || select.includes('SUBSCRIBED');
  const onlySpecial = select.includes('SPECIAL-USE');
  // RFC 5258 3.5 / RFC 9051 6.3.9.6: with RECURSIVEMATCH, a mailbox whose descendant is subscribed
  // is listed (even when it is not subscribed itself) with CHILDINFO ("SUBSCRIBED").
  const childInfo = select.includes('RECURSIVEMATCH') && select.includes('SUBSCRIBED') && !isLsub;
  const subscribedBelow = (name: string) =>
    all.some((m) => m.subscribed && m.name.startsWith(name + DELIMITER));
  for (const mb of all) {
    if (!matchers.some((m) => m.match(mb.name))) continue;
    const withChildInfo = childInfo && subscribedBelow(mb.name);
    if (onlySubscribed && !mb.subscribed && !withChildInfo) continue;
    if (onlySpecial && mb.specialUse === null) continue;
    const attrs: string[] = [hasChildren(all, mb.name) ? '\\HasChildren' : '\\HasNoChildren'];
    if ((ret.subscribed || select.includes('SUBSCRIBED')) && mb.subscribed && !isLsub)
      attrs.push('\\Subscribed');
    // RFC 6154 2: special-use attributes appear in every LIST unless the client asked selectively.
    if (mb.specialUse !== null && !isLsub) attrs.push(mb.specialUse);
    const name = encodeMailboxName(mb.name, ctx.utf8);
    const extended = withChildInfo ? [{ raw: '("CHILDINFO" ("SUBSCRIBED"))' }] : [];
    ctx.out.data([{ atom: cmd.name }, { raw: `(${attrs.join(' ')})` }, DELIMITER, name, ...extended]);
    if (ret.status) {
      const fresh = ctx.services.store.mail.getMailboxById(mb.id) ?? mb;
      ctx.out.data([{ atom: 'STATUS' }, name, statusValues(ctx, fresh, ret.status)]);
    }
  }
}
