// Email/set underneath (RFC 8621 4.6) on SQLite: keywords, mailbox moves and destroy, each one write with its change records.
import { MailroomError } from '../../errors.js';
import { keywordsOfFlags, keywordToFlag } from '../../mail/keywords.js';
import type { EmailSetResult } from '../jmap-store.js';
import { decodeId } from '../object-ids.js';
import type { SqliteContext } from './context.js';
import { emitChanges } from './change-events.js';
import { ChangeRecorder } from './changes.js';
import { emailFlagsChanged, emailRowAdded, emailRowRemoved } from './emails.js';
import { applyFlags, hasSeen } from './mail-messages.js';
import { collectGarbage } from './queries.js';
import { requireQuota, sizeOfMessages } from './quota.js';

/** An Email's row with its message's size. */
export interface EmailRow {
  id: number;
  message_id: number;
  thread_id: number;
  received_at: number;
  size: number;
}

/** A mailbox row of an Email in its account. */
interface PlacedRow {
  mailbox_id: number;
  uid: number;
  flags: string;
}

export const splitFlags = (text: string): string[] => (text === '' ? [] : text.split(' '));

function emailRow(ctx: SqliteContext, accountId: number, id: string): EmailRow | null {
  const n = decodeId('email', id);
  if (n === null) return null;
  return (
    ctx
      .prepare<[number, number], EmailRow>(
        'SELECT e.id, e.message_id, e.thread_id, e.received_at, m.size FROM emails e ' +
          'JOIN messages m ON m.id = e.message_id WHERE e.id = ? AND e.account_id = ?',
      )
      .get(n, accountId) ?? null
  );
}

function placedRows(ctx: SqliteContext, accountId: number, messageId: number): PlacedRow[] {
  return ctx
    .prepare<[number, number], PlacedRow>(
      'SELECT mm.mailbox_id, mm.uid, mm.flags FROM mailbox_messages mm JOIN mailboxes b ON b.id = mm.mailbox_id ' +
        'WHERE mm.message_id = ? AND b.account_id = ? ORDER BY mm.mailbox_id',
    )
    .all(messageId, accountId);
}

/** The mailbox's next MODSEQ (inside a write; the caller stores it back as highest_modseq). */
function nextModseq(ctx: SqliteContext, mailboxId: number): number {
  const row = ctx
    .prepare<[number], { m: number }>('SELECT highest_modseq AS m FROM mailboxes WHERE id = ?')
    .get(mailboxId);
  return (row?.m ?? 0) + 1;
}

/** Removes rows as EXPUNGE does (VANISHED records, one MODSEQ per mailbox); returns mailbox -> UIDs. */
function removeRows(
  ctx: SqliteContext,
  rec: ChangeRecorder,
  accountId: number,
  rows: readonly PlacedRow[],
  messageId: number,
): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const remove = ctx.prepare('DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?');
  const record = ctx.prepare(
    'INSERT INTO mailbox_expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?) ' +
      'ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq',
  );
  for (const r of rows) {
    const modseq = nextModseq(ctx, r.mailbox_id);
    remove.run(r.mailbox_id, r.uid);
    record.run(r.mailbox_id, r.uid, modseq);
    ctx.prepare('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?').run(modseq, r.mailbox_id);
    emailRowRemoved(ctx.prepare, rec, accountId, r.mailbox_id, messageId);
    out.set(r.mailbox_id, [...(out.get(r.mailbox_id) ?? []), r.uid]);
  }
  return out;
}

export async function setKeywords(
  ctx: SqliteContext,
  accountId: number,
  emailIds: readonly string[],
  keywords: readonly string[],
): Promise<EmailSetResult> {
  const flags = [...new Set(keywords.map((k) => keywordToFlag(k)))];
  const { result, durable } = ctx.writeLazy(() => {
    const rec = new ChangeRecorder();
    const out: EmailSetResult = { updated: [], notFound: [] };
    // Per mailbox: the changed UIDs and one new MODSEQ for all of them (RFC 7162 3.1.3).
    const touched = new Map<number, { modseq: number; uids: number[] }>();
    const update = ctx.prepare(
      'UPDATE mailbox_messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?',
    );
    for (const id of emailIds) {
      const e = emailRow(ctx, accountId, id);
      if (!e) {
        out.notFound.push(id);
        continue;
      }
      for (const row of placedRows(ctx, accountId, e.message_id)) {
        const current = splitFlags(row.flags);
        const next = applyFlags(current, 'set', flags);
        if (current.join(' ') === next.join(' ')) continue;
        let t = touched.get(row.mailbox_id);
        if (!t) touched.set(row.mailbox_id, (t = { modseq: nextModseq(ctx, row.mailbox_id), uids: [] }));
        update.run(next.join(' '), t.modseq, row.mailbox_id, row.uid);
        t.uids.push(row.uid);
        emailFlagsChanged(
          ctx.prepare,
          rec,
          accountId,
          row.mailbox_id,
          e.message_id,
          hasSeen(current) !== hasSeen(next),
        );
      }
      out.updated.push(id);
    }
    const setModseq = ctx.prepare('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?');
    for (const [box, t] of touched) setModseq.run(t.modseq, box);
    return { out, touched, states: rec.flush(ctx.prepare) };
  });
  for (const [mailboxId, t] of result.touched) {
    ctx.emit('flags', { accountId, mailboxId, uids: t.uids.sort((a, b) => a - b) });
  }
  emitChanges(ctx, result.states);
  await durable;
  return result.out;
}

export async function setMailboxes(
  ctx: SqliteContext,
  accountId: number,
  emailId: string,
  mailboxIds: readonly string[],
): Promise<EmailSetResult> {
  if (mailboxIds.length === 0) {
    throw new MailroomError('INVALID_MAILBOXES', 'an Email must be in at least one mailbox');
  }
  const target = new Set<number>();
  for (const id of mailboxIds) {
    const box = mailboxRowId(ctx, accountId, id);
    if (box === null) throw new MailroomError('INVALID_MAILBOXES', `no such mailbox: ${id}`);
    target.add(box);
  }
  const { result, durable } = ctx.writeLazy(() => {
    const e = emailRow(ctx, accountId, emailId);
    if (!e) return null;
    const rec = new ChangeRecorder();
    const rows = placedRows(ctx, accountId, e.message_id);
    const have = new Set(rows.map((r) => r.mailbox_id));
    // The Email's keywords travel with it into new mailboxes (as COPY's flags, RFC 9051 6.4.7).
    const flags = keywordsOfFlags(rows.flatMap((r) => splitFlags(r.flags)))
      .map(keywordToFlag)
      .join(' ');
    // RFC 8621 5.3 / RFC 9208: an Email added to more mailboxes than it leaves counts again in each one.
    const grows =
      [...target].filter((b) => !have.has(b)).length - rows.filter((r) => !target.has(r.mailbox_id)).length;
    if (grows > 0) {
      requireQuota(ctx.prepare, accountId, grows * sizeOfMessages(ctx.prepare, [e.message_id]), grows);
    }
    const added: Array<{ mailboxId: number; uid: number }> = [];
    const bump = ctx.prepare<[number], { uid: number; modseq: number }>(
      'UPDATE mailboxes SET uidnext = uidnext + 1, highest_modseq = highest_modseq + 1 WHERE id = ? ' +
        'RETURNING uidnext - 1 AS uid, highest_modseq AS modseq',
    );
    for (const box of target) {
      if (have.has(box)) continue;
      const c = bump.get(box);
      if (!c) throw new MailroomError('INVALID_MAILBOXES', `mailbox ${box} vanished`);
      ctx
        .prepare(
          'INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, modseq, received_at, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        // RFC 8514 3: added to this mailbox now (as an IMAP COPY would be).
        .run(box, c.uid, e.message_id, flags, c.modseq, e.received_at, ctx.clock().getTime());
      emailRowAdded(ctx.prepare, rec, accountId, box, e.message_id, e.received_at, null);
      added.push({ mailboxId: box, uid: c.uid });
    }
    const removed = removeRows(
      ctx,
      rec,
      accountId,
      rows.filter((r) => !target.has(r.mailbox_id)),
      e.message_id,
    );
    return { added, removed, states: rec.flush(ctx.prepare) };
  });
  if (!result) {
    await durable;
    return { updated: [], notFound: [emailId] };
  }
  for (const a of result.added) ctx.emit('message', { accountId, mailboxId: a.mailboxId, uid: a.uid });
  for (const [mailboxId, uids] of result.removed) ctx.emit('expunge', { accountId, mailboxId, uids });
  emitChanges(ctx, result.states);
  await durable;
  return { updated: [emailId], notFound: [] };
}

export async function destroyEmails(
  ctx: SqliteContext,
  accountId: number,
  emailIds: readonly string[],
): Promise<{ destroyed: string[]; notFound: string[] }> {
  const { result, durable } = ctx.writeLazy(() => {
    const rec = new ChangeRecorder();
    const destroyed: string[] = [];
    const notFound: string[] = [];
    const removed = new Map<number, number[]>();
    const messageIds: number[] = [];
    for (const id of emailIds) {
      const e = emailRow(ctx, accountId, id);
      if (!e) {
        notFound.push(id);
        continue;
      }
      for (const [box, uids] of removeRows(
        ctx,
        rec,
        accountId,
        placedRows(ctx, accountId, e.message_id),
        e.message_id,
      )) {
        removed.set(box, [...(removed.get(box) ?? []), ...uids]);
      }
      messageIds.push(e.message_id);
      destroyed.push(id);
    }
    const files = collectGarbage(ctx.prepare, messageIds);
    return { destroyed, notFound, removed, files, states: rec.flush(ctx.prepare) };
  });
  for (const [mailboxId, uids] of result.removed) {
    ctx.emit('expunge', { accountId, mailboxId, uids: uids.sort((a, b) => a - b) });
  }
  emitChanges(ctx, result.states);
  await durable;
  // Files only once durable (as EXPUNGE: mail-store.ts).
  if (result.files.length > 0) void ctx.blobs.remove(result.files);
  return { destroyed: result.destroyed, notFound: result.notFound };
}

export function mailboxRowId(ctx: SqliteContext, accountId: number, id: string): number | null {
  const n = decodeId('mailbox', id);
  if (n === null) return null;
  const row = ctx
    .prepare<[number, number], { id: number }>('SELECT id FROM mailboxes WHERE id = ? AND account_id = ?')
    .get(n, accountId);
  return row?.id ?? null;
}
