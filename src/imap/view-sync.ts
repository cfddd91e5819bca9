// Brings a SelectedView up to date from the store and reports the changes as untagged responses (RFC 9051 5.2, 7.4).
import type { MailStore } from '../store/mail-store.js';
import { formatNumbers } from './proto/sequence-set.js';
import type { Out } from './commands/context.js';
import { removeFromContexts } from './commands/contexts.js';
import type { SelectedView } from './selected-view.js';

export interface SyncOptions {
  /** EXPUNGE/VANISHED may be sent now (RFC 9051 7.4.1: not during FETCH, STORE or SEARCH). */
  expunges: boolean;
  /** QRESYNC enabled: expunges are reported as VANISHED (RFC 7162 3.2.10). */
  qresync: boolean;
  /** Include MODSEQ in flag FETCH responses (RFC 7162 3.1.4). */
  condstore: boolean;
  /**
   * Report flag changes now (default). False (NOTIFY SET whose SELECTED group lacks FlagChange, between
   * commands: RFC 5465 3.1): they are left for a later sync, which reads them again from the store.
   */
  flags?: boolean;
}

/**
 * One cheap query (the mailbox's HIGHESTMODSEQ) tells whether anything changed, whoever changed it
 * (this process or another one sharing the store). Only then are the changed rows read, through the
 * (mailbox_id, modseq) index. Returns false when the mailbox no longer exists.
 */
export function syncView(store: MailStore, view: SelectedView, out: Out, opts: SyncOptions): boolean {
  const highest = store.highestModseq(view.mailboxId);
  if (highest === null) return false;
  if (opts.expunges && highest > view.expungeModseq) {
    reportExpunged(view, out, store.vanishedSince(view.mailboxId, view.expungeModseq), opts.qresync);
    view.expungeModseq = highest;
  }
  if (highest > view.knownModseq) {
    const changed = store.changedSince(view.mailboxId, view.knownModseq);
    const maxUid = view.maxUid;
    let added = false;
    /** The lowest MODSEQ of a flag change left for later: knownModseq stays below it. */
    let deferredFrom = Infinity;
    for (const e of changed) {
      // RFC 9051 7.3.5: a keyword someone else set (STORE, APPEND, COPY, JMAP) is announced in FLAGS
      // before this session shows it on any message.
      if (view.learnKeywords(e.flags)) out.raw(view.flagsResponses());
      if (e.uid > maxUid) {
        view.push(e);
        added = true;
        continue;
      }
      const seq = view.seqOf(e.uid);
      if (seq === 0) continue;
      if (opts.flags === false) {
        if (view.modseqs[seq - 1] !== e.modseq) deferredFrom = Math.min(deferredFrom, e.modseq);
        continue;
      }
      // Any change (ours included, which the view already shows) may move it in or out of a context.
      view.contextChanges?.touched.add(e.uid);
      const before = view.flagsAt(seq);
      // Our own STORE already updated the view and answered; only report what someone else did.
      const seenModseq = view.modseqs[seq - 1] === e.modseq;
      const same = sameFlags(before, e.flags);
      // Equal flags keep the list the view has; a row with nothing new costs nothing (setRow returns early).
      view.setRow(seq, same ? before : e.flags, e.modseq);
      if (same && (seenModseq || !opts.condstore)) continue;
      const items = [`FLAGS (${view.shownFlags(seq).join(' ')})`, `UID ${e.uid}`];
      if (opts.condstore) items.push(`MODSEQ (${e.modseq})`);
      out.raw(`* ${seq} FETCH (${items.join(' ')})\r\n`);
    }
    if (added) {
      out.raw(`* ${view.exists} EXISTS\r\n`);
      if (view.recent !== null) {
        // RFC 3501 2.3.2: new mail is \Recent in the session that claims it first (a read-only one
        // only looks); RFC 3501 7.3.2: RECENT goes with the EXISTS that announces it.
        const first = store.recentFrom(view.mailboxId, view.maxUid + 1, !view.readOnly);
        if (first !== null) view.addRecentFrom(first);
        out.raw(`* ${view.recent.size} RECENT\r\n`);
      }
    }
    view.knownModseq = Math.min(highest, deferredFrom - 1);
  }
  return true;
}

/**
 * Removes expunged messages (UIDs, ascending) from the view and reports them: first the contexts'
 * REMOVEFROM (RFC 5267 4.3, numbered before any renumbering), then one VANISHED with QRESYNC (RFC 7162
 * 3.2.10), else one EXPUNGE each. The one way EXPUNGE, UID EXPUNGE, MOVE and the sync report expunges.
 */
export function reportExpunged(
  view: SelectedView,
  out: Out,
  uids: readonly number[],
  qresync: boolean,
): void {
  const gone = uids.filter((u) => view.seqOf(u) > 0);
  if (gone.length === 0) return;
  if (view.contexts.size > 0) removeFromContexts(view, out, gone);
  if (qresync) {
    for (const uid of gone) view.remove(uid);
    out.data([{ atom: 'VANISHED' }, { atom: formatNumbers(gone) }]);
    return;
  }
  // Descending: each EXPUNGE renumbers the messages after it (RFC 9051 7.5.1); going from the top,
  // the sequence numbers sent are the ones the client still has.
  for (let i = gone.length - 1; i >= 0; i--) {
    const seq = view.remove(gone[i] as number);
    if (seq > 0) out.raw(`* ${seq} EXPUNGE\r\n`);
  }
}

/**
 * Whether a message this session still shows has been expunged by someone else and not yet reported:
 * a SEARCH, SORT, THREAD or FETCH could not read it, so its answer may leave it out. The tagged OK
 * then carries [EXPUNGEISSUED] (RFC 5530 3, as Dovecot does), telling the client why and to sync soon.
 * One cheap query (HIGHESTMODSEQ) unless the mailbox changed; a mailbox deleted meanwhile counts too.
 */
export function expungeIssued(store: MailStore, view: SelectedView): boolean {
  const highest = store.highestModseq(view.mailboxId);
  if (highest === null) return true;
  if (highest <= view.expungeModseq) return false;
  return store.vanishedSince(view.mailboxId, view.expungeModseq).some((uid) => view.seqOf(uid) > 0);
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}
