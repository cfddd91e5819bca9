// Brings a SelectedView up to date from the store and reports the changes as untagged responses (RFC 9051 5.2, 7.4).
import type { MailStore } from '../store/mail-store.js';
import { formatNumbers } from './proto/sequence-set.js';
import type { Out } from './commands/context.js';
import type { SelectedView } from './selected-view.js';

export interface SyncOptions {
  /** EXPUNGE/VANISHED may be sent now (RFC 9051 7.4.1: not during FETCH, STORE or SEARCH). */
  expunges: boolean;
  /** QRESYNC enabled: expunges are reported as VANISHED (RFC 7162 3.2.10). */
  qresync: boolean;
  /** Include MODSEQ in flag FETCH responses (RFC 7162 3.1.4). */
  condstore: boolean;
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
    const gone = store.vanishedSince(view.mailboxId, view.expungeModseq).filter((u) => view.seqOf(u) > 0);
    if (opts.qresync && gone.length > 0) {
      for (const uid of gone) view.remove(uid);
      out.data([{ atom: 'VANISHED' }, { atom: formatNumbers(gone) }]);
    } else {
      // Descending: each EXPUNGE renumbers the messages after it (RFC 9051 7.5.1); going from the top,
      // the sequence numbers sent are the ones the client still has.
      for (let i = gone.length - 1; i >= 0; i--) {
        const seq = view.remove(gone[i] as number);
        if (seq > 0) out.raw(`* ${seq} EXPUNGE\r\n`);
      }
    }
    view.expungeModseq = highest;
  }
  if (highest > view.knownModseq) {
    const changed = store.changedSince(view.mailboxId, view.knownModseq);
    const maxUid = view.maxUid;
    let added = false;
    for (const e of changed) {
      if (e.uid > maxUid) {
        view.push(e);
        added = true;
        continue;
      }
      const seq = view.seqOf(e.uid);
      if (seq === 0) continue;
      // Any change (ours included, which the view already shows) may move it in or out of a context.
      view.contextChanges?.touched.add(e.uid);
      const before = view.flags[seq - 1] as readonly string[];
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
    view.knownModseq = highest;
  }
  return true;
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}
