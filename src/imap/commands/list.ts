// IMAP LIST (RFC 9051 6.3.9, extended forms RFC 5258, SPECIAL-USE RFC 6154, LIST-STATUS RFC 5819) and LSUB (RFC 3501 6.3.9).
import type { Mailbox } from '../../store/store.js';
import type { ImapCommand } from '../proto/command-types.js';
import {
  combineListPattern,
  compileListPattern,
  decodeMailboxName,
  DELIMITER,
  encodeMailboxName,
} from '../proto/mailbox-name.js';
import { ImapSyntaxError } from '../proto/types.js';
import type { CommandContext } from './context.js';
import { accountOf, statusValues } from './mailboxes.js';

type ListCmd = ImapCommand & { name: 'LIST' | 'LSUB' };

/** One name to answer with: a mailbox, or (in subscription listings) a name no mailbox has. */
interface Entry {
  name: string;
  mailbox: Mailbox | null;
  subscribed: boolean;
  /** A subscribed name lies below this one but does not match the pattern itself. */
  subscribedBelowUnlisted: boolean;
}

/** "a/b/c" -> ["a", "a/b"]. */
function ancestors(name: string): string[] {
  const out: string[] = [];
  for (let i = name.indexOf(DELIMITER); i > 0; i = name.indexOf(DELIMITER, i + 1)) out.push(name.slice(0, i));
  return out;
}

/** INBOX first, then binary order, as the store lists mailboxes. */
function byName(a: Entry, b: Entry): number {
  if (a.name === b.name) return 0;
  if (a.name === 'INBOX') return -1;
  if (b.name === 'INBOX') return 1;
  return a.name < b.name ? -1 : 1;
}

/**
 * The names a subscription listing (LSUB, LIST (SUBSCRIBED)) answers with: every subscribed name that
 * matches, existing or not (RFC 5258 3.1: non-existent ones too), plus the matching ancestors of
 * subscribed names the pattern does not reach. RFC 3501 6.3.9 requires those for LSUB with "%"
 * ("foo/bar" subscribed, "foo" not: LSUB "" % "MUST return foo ... flagged with the \Noselect
 * attribute"); RFC 5258 3.5 wants them for RECURSIVEMATCH (CHILDINFO), and only when the subscribed
 * child is not itself listed ("Servers SHOULD ONLY return a non-matching mailbox name along with
 * CHILDINFO if at least one matching child is not also being returned").
 */
function subscriptionEntries(
  all: readonly Mailbox[],
  subscriptions: readonly string[],
  matches: (name: string) => boolean,
): Entry[] {
  const existing = new Map(all.map((m) => [m.name, m]));
  const subscribed = new Set(subscriptions);
  const out = new Map<string, Entry>();
  const entry = (name: string): Entry => {
    let e = out.get(name);
    if (!e) {
      e = {
        name,
        mailbox: existing.get(name) ?? null,
        subscribed: subscribed.has(name),
        subscribedBelowUnlisted: false,
      };
      out.set(name, e);
    }
    return e;
  };
  for (const name of subscriptions) {
    const listed = matches(name);
    if (listed) entry(name);
    else for (const a of ancestors(name)) if (matches(a)) entry(a).subscribedBelowUnlisted = true;
  }
  return [...out.values()].sort(byName);
}

function hasChildren(all: readonly Mailbox[], name: string): boolean {
  const prefix = name + DELIMITER;
  return all.some((m) => m.name.startsWith(prefix));
}

/** The attributes of one LIST/LSUB response, or null when the entry is not to be listed. */
function attributes(cmd: ListCmd, all: readonly Mailbox[], e: Entry, childInfo: boolean): string[] | null {
  const mb = e.mailbox;
  if (cmd.name === 'LSUB') {
    // RFC 3501 6.3.9: an unsubscribed parent of a subscribed name is \Noselect; so is a subscribed
    // name with no mailbox (7.2.2: "not possible to use this name as a selectable mailbox").
    if (!e.subscribed || mb === null) return ['\\Noselect'];
    return [hasChildren(all, mb.name) ? '\\HasChildren' : '\\HasNoChildren'];
  }
  const select = cmd.selectOptions;
  const bySubscription = select.includes('SUBSCRIBED');
  // Without RECURSIVEMATCH LIST (SUBSCRIBED) lists subscribed names only (RFC 5258 3.1); CHILDINFO
  // "MUST NOT be returned unless the client has specified the RECURSIVEMATCH selection option" (4).
  if (bySubscription && !e.subscribed && !(childInfo && e.subscribedBelowUnlisted)) return null;
  if (select.includes('SPECIAL-USE') && (mb === null || mb.specialUse === null)) return null;
  const attrs: string[] = [];
  // RFC 5258 3.4 / RFC 9051 7.3.1: \NonExistent (which implies \Noselect) for a name with no mailbox.
  if (mb === null) attrs.push('\\NonExistent');
  else attrs.push(hasChildren(all, mb.name) ? '\\HasChildren' : '\\HasNoChildren');
  if ((cmd.returnOptions.subscribed || bySubscription) && e.subscribed) attrs.push('\\Subscribed');
  // RFC 6154 2: special-use attributes appear in every LIST unless the client asked selectively.
  if (mb !== null && mb.specialUse !== null) attrs.push(mb.specialUse);
  return attrs;
}

/** LIST (RFC 9051 6.3.9, extended forms RFC 5258, SPECIAL-USE RFC 6154, STATUS RFC 5819) and LSUB. */
export function list(ctx: CommandContext, cmd: ListCmd): void {
  const account = accountOf(ctx);
  const patterns = cmd.name === 'LIST' ? cmd.patterns : [cmd.pattern];
  // RFC 9051 6.3.9: an empty pattern asks for the delimiter and the root.
  if (patterns.length === 1 && patterns[0] === '') {
    ctx.out.raw(`* ${cmd.name} (\\Noselect) "${DELIMITER}" ""\r\n`);
    return;
  }
  // A pattern that is not valid modified UTF-7 matches no name a mailbox can have: an empty answer,
  // not an error (Dovecot; imaptest "atoms" lists with every atom character).
  const matchers = patterns.flatMap((p) => {
    try {
      return [compileListPattern(decodeMailboxName(combineListPattern(cmd.reference, p), ctx.utf8))];
    } catch (err) {
      if (err instanceof ImapSyntaxError) return [];
      throw err;
    }
  });
  const matches = (name: string): boolean => matchers.some((m) => m.match(name));
  const all = ctx.services.store.listMailboxes(account.id);
  const select = cmd.name === 'LIST' ? cmd.selectOptions : [];
  const bySubscription = cmd.name === 'LSUB' || select.includes('SUBSCRIBED');
  // RFC 5258 3.5 / RFC 9051 6.3.9.6: CHILDINFO ("SUBSCRIBED") with RECURSIVEMATCH.
  const childInfo = cmd.name === 'LIST' && select.includes('RECURSIVEMATCH') && bySubscription;
  const entries: Entry[] = bySubscription
    ? subscriptionEntries(all, ctx.services.store.mail.listSubscriptions(account.id), matches)
    : all
        .filter((m) => matches(m.name))
        .map((m) => ({ name: m.name, mailbox: m, subscribed: m.subscribed, subscribedBelowUnlisted: false }));
  const status = cmd.name === 'LIST' ? cmd.returnOptions.status : null;
  for (const e of entries) {
    const attrs = attributes(cmd, all, e, childInfo);
    if (attrs === null) continue;
    const name = encodeMailboxName(e.name, ctx.utf8);
    const extended = childInfo && e.subscribedBelowUnlisted ? [{ raw: '("CHILDINFO" ("SUBSCRIBED"))' }] : [];
    ctx.out.data([{ atom: cmd.name }, { raw: `(${attrs.join(' ')})` }, DELIMITER, name, ...extended]);
    // RFC 5819 2: no STATUS for a name that cannot be selected.
    if (status && e.mailbox !== null) {
      const fresh = ctx.services.store.mail.getMailboxById(e.mailbox.id) ?? e.mailbox;
      ctx.out.data([{ atom: 'STATUS' }, name, statusValues(ctx, fresh, status)]);
    }
  }
}
