// IMAP STORE (RFC 9051 6.4.6, RFC 7162 UNCHANGEDSINCE), COPY/MOVE (RFC 6851) with COPYUID; APPEND is in append.ts.
import type { ImapCommand } from '../proto/command-types.js';
import { formatNumbers, type SequenceSet } from '../proto/sequence-set.js';
import type { Addressed } from '../selected-view.js';
import { bad, enableCondstore, no, type CommandContext } from './context.js';
import type { Done } from './index.js';
import { existingRef } from './mailboxes.js';
import { overQuotaRefusal } from './quota.js';
import { selectedView } from './select.js';
import { reportExpunged } from '../view-sync.js';

type Cmd<N extends ImapCommand['name']> = ImapCommand & { name: N };

/** Messages a set names; '$' is the saved SEARCH result (RFC 5182). A sequence number past the end is BAD. */
export function addressed(ctx: CommandContext, set: SequenceSet, uid: boolean): Addressed[] {
  const view = selectedView(ctx);
  if (set.kind === 'saved') {
    return view.saved.map((u) => ({ uid: u, seq: view.seqOf(u) })).filter((a) => a.seq > 0);
  }
  const list = view.resolve(set.ranges, uid);
  if (list === null) throw bad('Invalid message sequence number');
  return list;
}

const SYSTEM = new Map(
  ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'].map((f) => [f.toLowerCase(), f]),
);

/** System flags in their canonical case; \Recent cannot be stored (RFC 9051 2.3.2). */
export function normaliseFlags(flags: readonly string[]): string[] {
  return flags.map((f) => {
    const sys = SYSTEM.get(f.toLowerCase());
    if (sys) return sys;
    if (f.startsWith('\\')) throw bad(`Cannot store flag ${f.slice(0, 40)}`);
    return f;
  });
}

export async function store(ctx: CommandContext, cmd: Cmd<'STORE'>): Promise<Done | void> {
  const view = selectedView(ctx);
  if (view.readOnly) throw no('Mailbox is read-only', { name: 'READ-ONLY' });
  const list = addressed(ctx, cmd.set, cmd.uid);
  const flags = normaliseFlags(cmd.action.flags);
  if (cmd.unchangedSince !== null) enableCondstore(ctx);
  const r = await ctx.services.store.mail.storeFlags(
    view.mailboxId,
    list.map((a) => a.uid),
    cmd.action.op,
    flags,
    cmd.unchangedSince,
  );
  const changed = new Set(r.changed);
  const modified = new Set(r.modified);
  for (const row of r.rows) {
    const seq = view.seqOf(row.uid);
    if (seq === 0) continue;
    view.setRow(seq, row.flags, row.modseq);
    // RFC 9051 7.3.5: a new keyword goes into FLAGS (and PERMANENTFLAGS) before a FETCH shows it.
    if (view.learnKeywords(row.flags)) ctx.out.raw(view.flagsResponses());
    if (modified.has(row.uid)) continue;
    // RFC 7162 3.1.3: with CONDSTORE, .SILENT still reports the new MODSEQ of changed messages.
    if (cmd.action.silent && !(ctx.session.condstoreOn && changed.has(row.uid))) continue;
    const items: string[] = [];
    if (!cmd.action.silent) items.push(`FLAGS (${view.shownFlags(seq).join(' ')})`);
    if (cmd.uid) items.push(`UID ${row.uid}`);
    if (ctx.session.condstoreOn) items.push(`MODSEQ (${row.modseq})`);
    ctx.out.raw(`* ${seq} FETCH (${items.join(' ')})\r\n`);
  }
  if (r.modified.length > 0) {
    const ids = cmd.uid ? r.modified : r.modified.map((u) => view.seqOf(u));
    return { code: { name: 'MODIFIED', args: formatNumbers(ids) }, text: 'Conditional STORE failed' };
  }
}

/** COPY/MOVE; answered once the change is durable (the store resolves then), like STORE and APPEND. */
export async function copyMove(ctx: CommandContext, cmd: Cmd<'COPY' | 'MOVE'>): Promise<Done | void> {
  const view = selectedView(ctx);
  if (cmd.name === 'MOVE' && view.readOnly) throw no('Mailbox is read-only', { name: 'READ-ONLY' });
  const list = addressed(ctx, cmd.set, cmd.uid);
  const dest = existingRef(ctx, cmd.mailbox, true);
  if (list.length === 0) return { text: 'No messages' };
  const uids = list.map((a) => a.uid);
  const mail = ctx.services.store.mail;
  let r;
  try {
    r = await (cmd.name === 'MOVE'
      ? mail.move(view.mailboxId, uids, dest.id)
      : mail.copy(view.mailboxId, uids, dest.id));
  } catch (err) {
    // RFC 9208 4.3: a COPY (or MOVE out of the account) over the quota is NO [OVERQUOTA], nothing copied.
    throw overQuotaRefusal(ctx, err);
  }
  if (r.mapping.length === 0) return;
  // RFC 4315 3: COPYUID uidvalidity source-uids dest-uids, in matching order.
  const code = {
    name: 'COPYUID',
    args: `${r.uidValidity} ${r.mapping.map(([s]) => s).join(',')} ${r.mapping.map(([, d]) => d).join(',')}`,
  };
  if (cmd.name === 'COPY') return { code, text: 'COPY completed' };
  // RFC 6851 4.3: COPYUID in an untagged OK before the expunges, then the expunges, then OK.
  ctx.out.untagged('OK', code, 'Moved');
  const moved = r.mapping.map(([s]) => s).sort((a, b) => a - b);
  reportExpunged(view, ctx.out, moved, ctx.session.enabled.has('QRESYNC'));
}
