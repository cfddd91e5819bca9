// IMAP SELECT/EXAMINE (RFC 9051 6.3.2/6.3.3, RFC 3501 \Recent, RFC 7162 CONDSTORE/QRESYNC), CLOSE, UNSELECT, EXPUNGE and UID EXPUNGE.
import type { ImapCommand } from '../proto/command-types.js';
import { DELIMITER, encodeMailboxName } from '../proto/mailbox-name.js';
import { formatNumbers, inRanges, resolveSequenceSet } from '../proto/sequence-set.js';
import { SelectedView } from '../selected-view.js';
import { reportExpunged } from '../view-sync.js';
import { URLAUTH_MECHANISMS } from '../urlauth.js';
export { SYSTEM_FLAGS } from '../selected-view.js';
import { bad, no, type CommandContext } from './context.js';
import type { Done } from './index.js';
import { accountOf, existingRef } from './mailboxes.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

export function selectedView(ctx: CommandContext): SelectedView {
  const st = ctx.session.state;
  if (st.kind !== 'selected') throw bad('No mailbox selected');
  return st.view;
}

export function select(ctx: CommandContext, cmd: Cmd<'SELECT' | 'EXAMINE'>): Done {
  const account = accountOf(ctx);
  const wasSelected = ctx.session.state.kind === 'selected';
  // RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected.
  ctx.session.state = { kind: 'authenticated', account };
  if (wasSelected) ctx.out.untagged('OK', { name: 'CLOSED' }, 'Previous mailbox closed');
  if (cmd.qresync && !ctx.session.enabled.has('QRESYNC')) throw bad('QRESYNC is not enabled');
  const mb = existingRef(ctx, cmd.mailbox);
  const store = ctx.services.store.mail;
  // The shared index, brought up to date (mailbox-index-cache.ts); deleted just now: as if never there.
  const index = ctx.services.indexCache.get(mb.id);
  if (!index) throw no('No such mailbox', { name: 'NONEXISTENT' });
  const highest = index.modseq;
  const readOnly = cmd.name === 'EXAMINE';
  const view = new SelectedView(mb.id, mb.name, mb.uidValidity, readOnly, index);
  if (cmd.condstore || cmd.qresync) ctx.session.condstoreOn = true;
  const rev2 = ctx.session.enabled.has('IMAP4REV2');
  if (!rev2) {
    // RFC 3501 2.3.2: the messages no session was told about are \Recent here. SELECT claims them, so
    // the next session sees them as not recent; EXAMINE only looks (6.3.2: it "MUST NOT cause messages
    // to lose the \Recent flag"), so they stay recent for the next session too.
    view.recent = new Set();
    const first = store.recentFrom(mb.id, view.maxUid + 1, !readOnly);
    if (first !== null) view.addRecentFrom(first);
  }
  const o = ctx.out;
  o.raw(`* ${view.exists} EXISTS\r\n`);
  if (view.recent !== null) o.raw(`* ${view.recent.size} RECENT\r\n`);
  // The system flags and every keyword the mailbox's messages carry (RFC 9051 7.3.5).
  o.raw(view.flagsResponses());
  if (!rev2) {
    // RFC 3501 6.3.1: the first unseen message; IMAP4rev2 dropped it (clients use SEARCH).
    let seq = 0;
    for (let s = 1; s <= view.exists && seq === 0; s++) {
      if (!view.flagsAt(s).some((x) => x.toLowerCase() === '\\seen')) seq = s;
    }
    if (seq > 0) o.untagged('OK', { name: 'UNSEEN', args: String(seq) }, 'First unseen');
  }
  o.untagged('OK', { name: 'UIDVALIDITY', args: String(mb.uidValidity) }, 'UIDs valid');
  o.untagged(
    'OK',
    { name: 'UIDNEXT', args: String(Math.max(mb.uidNext, view.maxUid + 1)) },
    'Predicted next UID',
  );
  // RFC 7162 3.1.2.1: a CONDSTORE server sends HIGHESTMODSEQ on every successful SELECT/EXAMINE.
  o.untagged('OK', { name: 'HIGHESTMODSEQ', args: String(highest) }, 'Highest');
  // RFC 8474 4.2: the mailbox's id on SELECT/EXAMINE.
  o.untagged('OK', { name: 'MAILBOXID', args: `(${ctx.services.store.jmap.mailboxObjectId(mb.id)})` }, 'Ok');
  // RFC 4467 7 (URLMECH): a URLAUTH server names, in an untagged OK of a successful SELECT/EXAMINE, the
  // mechanisms GENURLAUTH can use for this mailbox (as Dovecot and Cyrus send it).
  o.untagged('OK', { name: 'URLMECH', args: URLAUTH_MECHANISMS.join(' ') }, 'Ok');
  if (rev2) {
    // RFC 9051 6.3.2: a LIST response whose attributes are accurate, the ones a plain LIST gives it
    // (children, RFC 9051 7.3.1; special use, RFC 6154 2).
    const attrs = [store.hasChildren(account.id, mb.name) ? '\\HasChildren' : '\\HasNoChildren'];
    if (mb.specialUse !== null) attrs.push(mb.specialUse);
    o.data([
      { atom: 'LIST' },
      { raw: `(${attrs.join(' ')})` },
      DELIMITER,
      encodeMailboxName(mb.name, ctx.utf8),
    ]);
  }
  if (cmd.qresync && cmd.qresync.uidValidity === mb.uidValidity) {
    // RFC 7162 3.2.5.1: what vanished and what changed since the client's MODSEQ.
    const q = cmd.qresync;
    const known = q.knownUids?.kind === 'set' ? resolveSequenceSet(q.knownUids.ranges, 0xffffffff) : null;
    const gone = store
      .vanishedSince(mb.id, q.modseq)
      .filter((u) => u < view.maxUid + 1 && (known === null || inRanges(u, known)));
    if (gone.length > 0) o.raw(`* VANISHED (EARLIER) ${formatNumbers(gone)}\r\n`);
    for (const e of store.changedSince(mb.id, q.modseq)) {
      const seq = view.seqOf(e.uid);
      if (seq > 0)
        o.raw(
          `* ${seq} FETCH (UID ${e.uid} FLAGS (${view.shownFlags(seq).join(' ')}) MODSEQ (${e.modseq}))\r\n`,
        );
    }
  }
  ctx.session.state = { kind: 'selected', account, view };
  ctx.session.urlmechSeen = ctx.services.store.urlauth.resetCount(account.id, mb.id);
  return {
    code: { name: readOnly ? 'READ-ONLY' : 'READ-WRITE' },
    text: `${cmd.name} completed`,
    skipSync: true,
  };
}

/**
 * Removes the \Deleted messages (optionally only those UIDs); reports them unless `silent`. Resolves
 * once the removal is durable, so the tagged OK that follows never reports a change a crash could undo.
 */
async function expungeDeleted(
  ctx: CommandContext,
  uidFilter: ((uid: number) => boolean) | null,
  silent: boolean,
): Promise<void> {
  const view = selectedView(ctx);
  if (view.readOnly) throw no('Mailbox is read-only', { name: 'READ-ONLY' });
  // Report what others did first, so our EXPUNGE sequence numbers are the client's.
  if (!silent) ctx.sync(true);
  const targets: number[] = [];
  for (let seq = 1; seq <= view.exists; seq++) {
    const uid = view.uids[seq - 1] as number;
    const flags = view.flagsAt(seq);
    if (flags.some((f) => f.toLowerCase() === '\\deleted') && (uidFilter === null || uidFilter(uid))) {
      targets.push(uid);
    }
  }
  if (targets.length === 0) return;
  const removed = await ctx.services.store.mail.expunge(view.mailboxId, targets);
  if (silent) return;
  reportExpunged(view, ctx.out, removed, ctx.session.enabled.has('QRESYNC'));
}

export async function expunge(ctx: CommandContext, cmd: Cmd<'EXPUNGE'>): Promise<void> {
  if (cmd.uidSet === null) return expungeDeleted(ctx, null, false);
  // RFC 4315 2.1: UID EXPUNGE removes only the \Deleted messages among these UIDs.
  if (cmd.uidSet.kind === 'saved') {
    const saved = new Set(selectedView(ctx).saved);
    return expungeDeleted(ctx, (u) => saved.has(u), false);
  }
  const ranges = resolveSequenceSet(cmd.uidSet.ranges, Math.max(selectedView(ctx).maxUid, 1));
  return expungeDeleted(ctx, (u) => inRanges(u, ranges), false);
}

export async function close(ctx: CommandContext): Promise<Done> {
  const st = ctx.session.state;
  if (st.kind !== 'selected') throw bad('No mailbox selected');
  // RFC 9051 6.4.1: CLOSE expunges silently (not on a read-only mailbox) and returns to authenticated.
  if (!st.view.readOnly) await expungeDeleted(ctx, null, true);
  ctx.session.state = { kind: 'authenticated', account: st.account };
  return { skipSync: true };
}

export function unselect(ctx: CommandContext): Done {
  const st = ctx.session.state;
  if (st.kind !== 'selected') throw bad('No mailbox selected');
  ctx.session.state = { kind: 'authenticated', account: st.account };
  return { skipSync: true };
}
