// Message rows of the SQLite MailStore: the per-mailbox index, CONDSTORE changes, counters, metadata, flags, COPY/MOVE.
import { MailroomError } from '../../errors.js';
import type { MessageStructure } from '../../mail/mime-structure.js';
import type {
  CopyResult,
  FlagOp,
  IndexEntry,
  MailboxCounts,
  MessageMeta,
  MetaDetail,
  StoreFlagsResult,
} from '../mail-store.js';
import type { SqliteContext } from './context.js';
import { computeStructureJson, parseStructureJson } from './mail-structure.js';
import { collectGarbage } from './queries.js';
import { ChangeRecorder } from './changes.js';
import { emitChanges } from './change-events.js';
import { emailFlagsChanged, emailRowAdded, emailRowRemoved } from './emails.js';
import { requireQuota, sizeOfMessages } from './quota.js';

function splitFlags(text: string): string[] {
  return text === '' ? [] : text.split(' ');
}

/** Rows as arrays (better-sqlite3 raw mode): no object per row, which matters at 100k rows. */
function indexRows(rows: unknown[][]): IndexEntry[] {
  const out: IndexEntry[] = new Array<IndexEntry>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as [number, string, number, number];
    out[i] = { uid: r[0], flags: splitFlags(r[1]), modseq: r[2], messageId: r[3] };
  }
  return out;
}

/**
 * Every row as four JSON arrays from one statement: JSON.parse builds them natively, where raw mode
 * makes an array per row across the C++ boundary (a 100,000-row SELECT took 300+ ms that way). Equal
 * flag texts share one frozen array (most rows have one of a few): fewer objects, and frozen so no
 * caller can change another row's flags through it. The aggregate has no ORDER BY (it would sort
 * again): the primary key scan yields UID order; checked, and sorted if ever not.
 */
export function listIndex(ctx: SqliteContext, mailboxId: number): IndexEntry[] {
  const row = ctx
    .prepare<[number], unknown[]>(
      'SELECT json_group_array(uid), json_group_array(flags), json_group_array(modseq), json_group_array(message_id) ' +
        'FROM mailbox_messages WHERE mailbox_id = ?',
    )
    .raw(true)
    .get(mailboxId) as [string, string, string, string];
  const uids = JSON.parse(row[0]) as number[];
  const flags = JSON.parse(row[1]) as string[];
  const modseqs = JSON.parse(row[2]) as number[];
  const ids = JSON.parse(row[3]) as number[];
  const shared = new Map<string, string[]>();
  const out = new Array<IndexEntry>(uids.length);
  let sorted = true;
  for (let i = 0; i < uids.length; i++) {
    const text = flags[i] as string;
    let list = shared.get(text);
    if (!list) {
      list = Object.freeze(splitFlags(text)) as string[];
      shared.set(text, list);
    }
    out[i] = {
      uid: uids[i] as number,
      flags: list,
      modseq: modseqs[i] as number,
      messageId: ids[i] as number,
    };
    if (i > 0 && (uids[i] as number) < (uids[i - 1] as number)) sorted = false;
  }
  if (!sorted) out.sort((a, b) => a.uid - b.uid);
  return out;
}

export function changedSince(ctx: SqliteContext, mailboxId: number, modseq: number): IndexEntry[] {
  const stmt = ctx.prepare<[number, number], unknown[]>(
    'SELECT uid, flags, modseq, message_id FROM mailbox_messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid',
  );
  return indexRows(stmt.raw(true).all(mailboxId, modseq));
}

export function vanishedSince(ctx: SqliteContext, mailboxId: number, modseq: number): number[] {
  return ctx
    .prepare<[number, number], { uid: number }>(
      'SELECT uid FROM mailbox_expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid',
    )
    .all(mailboxId, modseq)
    .map((r) => r.uid);
}

/** Flag text matching for \Seen and \Deleted in SQL: flags are one space-separated string (schema.ts). */
const HAS_SEEN = "(' ' || lower(mm.flags) || ' ') LIKE '% \\seen %' ESCAPE '!'";
const HAS_DELETED = "(' ' || lower(mm.flags) || ' ') LIKE '% \\deleted %' ESCAPE '!'";

export function counts(ctx: SqliteContext, mailboxId: number): MailboxCounts {
  const row = ctx
    .prepare<
      [number],
      {
        messages: number;
        unseen: number | null;
        deleted: number | null;
        size: number | null;
        deleted_size: number | null;
      }
    >(
      `SELECT COUNT(*) AS messages, SUM(CASE WHEN ${HAS_SEEN} THEN 0 ELSE 1 END) AS unseen, ` +
        `SUM(CASE WHEN ${HAS_DELETED} THEN 1 ELSE 0 END) AS deleted, SUM(m.size) AS size, ` +
        `SUM(CASE WHEN ${HAS_DELETED} THEN m.size ELSE 0 END) AS deleted_size ` +
        'FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id WHERE mm.mailbox_id = ?',
    )
    .get(mailboxId);
  let firstUnseenSeq = 0;
  if ((row?.unseen ?? 0) > 0) {
    const first = ctx
      .prepare<[number], { uid: number }>(
        `SELECT mm.uid FROM mailbox_messages mm WHERE mm.mailbox_id = ? AND NOT ${HAS_SEEN} ORDER BY mm.uid LIMIT 1`,
      )
      .get(mailboxId);
    if (first) {
      const pos = ctx
        .prepare<[number, number], { n: number }>(
          'SELECT COUNT(*) AS n FROM mailbox_messages WHERE mailbox_id = ? AND uid <= ?',
        )
        .get(mailboxId, first.uid);
      firstUnseenSeq = pos?.n ?? 0;
    }
  }
  return {
    messages: row?.messages ?? 0,
    unseen: row?.unseen ?? 0,
    deleted: row?.deleted ?? 0,
    size: row?.size ?? 0,
    deletedSize: row?.deleted_size ?? 0,
    firstUnseenSeq,
  };
}

/**
 * The root's bodyStart read out of the stored JSON by SQLite (in C, no JS object built: a FETCH of 20
 * messages' header fields spent ~100 us in JSON.parse and left the parsed trees for the GC). NULL when
 * the column is missing or unreadable (json_valid first: json_extract would fail the whole query);
 * the caller then takes the path that recomputes the structure.
 */
const BODY_START_SQL =
  "CASE WHEN json_valid(m.bodystructure_json) THEN json_extract(m.bodystructure_json, '$.root.bodyStart') END";

export async function messageMeta(
  ctx: SqliteContext,
  mailboxId: number,
  lo: number,
  hi: number,
  withStructure: MetaDetail,
): Promise<MessageMeta[]> {
  const column =
    withStructure === 'bodyStart' ? BODY_START_SQL : withStructure ? 'm.bodystructure_json' : 'NULL';
  const rows = ctx
    .prepare<
      [number, number, number],
      {
        uid: number;
        message_id: number;
        size: number;
        internal_date: number;
        internal_date_offset: number;
        saved_at: number | null;
        bs: string | number | null;
      }
    >(
      'SELECT mm.uid, mm.message_id, m.size, m.internal_date, m.internal_date_offset, mm.saved_at, ' +
        `${column} AS bs ` +
        'FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id ' +
        'WHERE mm.mailbox_id = ? AND mm.uid BETWEEN ? AND ? ORDER BY mm.uid',
    )
    .all(mailboxId, lo, hi);
  const out: MessageMeta[] = [];
  for (const r of rows) {
    let structure: MessageStructure | null = null;
    let bodyStart: number | null = null;
    if (withStructure === 'bodyStart') {
      if (typeof r.bs === 'number') bodyStart = r.bs;
      else bodyStart = (await fillStructure(ctx, r.message_id))?.root.bodyStart ?? null;
    } else if (withStructure) {
      structure = parseStructureJson(r.bs as string | null) ?? (await fillStructure(ctx, r.message_id));
      bodyStart = structure?.root.bodyStart ?? null;
    }
    out.push({
      uid: r.uid,
      messageId: r.message_id,
      size: r.size,
      internalDate: new Date(r.internal_date),
      internalDateOffset: r.internal_date_offset,
      saveDate: r.saved_at === null ? null : new Date(r.saved_at),
      structure,
      bodyStart,
    });
  }
  return out;
}

/** Computes and keeps the structure of a message stored without one (before the parser landed). */
async function fillStructure(ctx: SqliteContext, messageId: number): Promise<MessageStructure | null> {
  const row = ctx
    .prepare<[number], { head: Buffer; body: Buffer | null; file: string | null }>(
      'SELECT b.head, b.body, b.file FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = ?',
    )
    .get(messageId);
  if (!row) return null;
  const json = await computeStructureJson(
    row.head,
    row.body ?? (row.file !== null ? await ctx.blobs.read(row.file) : Buffer.alloc(0)),
  );
  ctx.write(() =>
    ctx.prepare('UPDATE messages SET bodystructure_json = ? WHERE id = ?').run(json, messageId),
  );
  return parseStructureJson(json);
}

/** Applies a STORE operation to one flag list; flags compare case-insensitively (RFC 9051 2.3.2). */
export function applyFlags(current: readonly string[], op: FlagOp, flags: readonly string[]): string[] {
  const key = (f: string): string => f.toLowerCase();
  if (op === 'set') {
    const seen = new Set<string>();
    return flags.filter((f) => (seen.has(key(f)) ? false : (seen.add(key(f)), true)));
  }
  if (op === 'add') {
    const out = [...current];
    const have = new Set(current.map(key));
    for (const f of flags) {
      if (have.has(key(f))) continue;
      have.add(key(f));
      out.push(f);
    }
    return out;
  }
  const drop = new Set(flags.map(key));
  return current.filter((f) => !drop.has(key(f)));
}

/** Whether a flag list has \Seen (unreadEmails counts, RFC 8621 2). */
export function hasSeen(flags: readonly string[]): boolean {
  return flags.some((f) => f.toLowerCase() === '\\seen');
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => s.has(f.toLowerCase()));
}

export async function storeFlags(
  ctx: SqliteContext,
  mailboxId: number,
  uids: readonly number[],
  op: FlagOp,
  flags: readonly string[],
  unchangedSince: number | null,
): Promise<StoreFlagsResult> {
  // writeLazy: the WAL fsync runs on the thread pool instead of blocking every session's event loop;
  // the caller is answered only once it is done (below), so a reported change is on disk.
  const { result, durable } = ctx.writeLazy(() => {
    const mailbox = ctx
      .prepare<[number], { account_id: number; highest_modseq: number }>(
        'SELECT account_id, highest_modseq FROM mailboxes WHERE id = ?',
      )
      .get(mailboxId);
    if (!mailbox) throw new MailroomError('NO_SUCH_MAILBOX', `mailbox ${mailboxId} no longer exists`);
    const get = ctx.prepare<[number, number], { flags: string; modseq: number; message_id: number }>(
      'SELECT flags, modseq, message_id FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?',
    );
    const update = ctx.prepare(
      'UPDATE mailbox_messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?',
    );
    // One MODSEQ for the whole command (RFC 7162 3.1.3 allows it; it is one change).
    const modseq = mailbox.highest_modseq + 1;
    const rec = new ChangeRecorder();
    const rows: IndexEntry[] = [];
    const changed: number[] = [];
    const modified: number[] = [];
    for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
      const row = get.get(mailboxId, uid);
      if (!row) continue;
      const current = splitFlags(row.flags);
      if (unchangedSince !== null && row.modseq > unchangedSince) {
        modified.push(uid);
        rows.push({ uid, flags: current, modseq: row.modseq, messageId: row.message_id });
        continue;
      }
      const next = applyFlags(current, op, flags);
      if (sameFlags(current, next)) {
        rows.push({ uid, flags: current, modseq: row.modseq, messageId: row.message_id });
        continue;
      }
      update.run(next.join(' '), modseq, mailboxId, uid);
      emailFlagsChanged(
        ctx.prepare,
        rec,
        mailbox.account_id,
        mailboxId,
        row.message_id,
        hasSeen(current) !== hasSeen(next),
      );
      changed.push(uid);
      rows.push({ uid, flags: next, modseq, messageId: row.message_id });
    }
    if (changed.length > 0) {
      ctx.prepare('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?').run(modseq, mailboxId);
    }
    return { accountId: mailbox.account_id, rows, changed, modified, states: rec.flush(ctx.prepare) };
  });
  if (result.changed.length > 0) {
    ctx.emit('flags', { accountId: result.accountId, mailboxId, uids: result.changed });
  }
  emitChanges(ctx, result.states);
  await durable;
  return { rows: result.rows, changed: result.changed, modified: result.modified };
}

/**
 * COPY or MOVE in one transaction; MOVE also removes the source rows (RFC 6851 3.1). Resolves once
 * durable; the fsync runs on the thread pool (writeLazy), as for STORE.
 */
export async function copyOrMove(
  ctx: SqliteContext,
  fromId: number,
  uids: readonly number[],
  toId: number,
  move: boolean,
): Promise<CopyResult> {
  const { result, durable } = ctx.writeLazy(() => {
    const mailboxes = ctx.prepare<
      [number],
      { account_id: number; uidvalidity: number; highest_modseq: number }
    >('SELECT account_id, uidvalidity, highest_modseq FROM mailboxes WHERE id = ?');
    const src = mailboxes.get(fromId);
    const dst = mailboxes.get(toId);
    if (!src || !dst) throw new MailroomError('NO_SUCH_MAILBOX', 'no such mailbox');
    const get = ctx.prepare<[number, number], { message_id: number; flags: string; received_at: number }>(
      'SELECT message_id, flags, received_at FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?',
    );
    const bump = ctx.prepare<[number, number], { uid: number; modseq: number }>(
      'UPDATE mailboxes SET uidnext = uidnext + 1, highest_modseq = ? WHERE id = ? RETURNING uidnext - 1 AS uid, highest_modseq AS modseq',
    );
    const insert = ctx.prepare(
      'INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, modseq, received_at, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    // RFC 8514 3: a COPY or MOVE saves the message to the target mailbox now.
    const savedAt = ctx.clock().getTime();
    const rec = new ChangeRecorder();
    const remove = ctx.prepare('DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?');
    const record = ctx.prepare(
      'INSERT INTO mailbox_expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?) ' +
        'ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq',
    );
    // RFC 9208 5.2: COPY (and MOVE to another account) adds to the target account's usage; a MOVE inside
    // one account adds nothing, so it works over quota too (a user tidying up to get back under it).
    if (!move || src.account_id !== dst.account_id) {
      const ids = [...new Set(uids)].flatMap((uid) => get.get(fromId, uid)?.message_id ?? []);
      requireQuota(ctx.prepare, dst.account_id, sizeOfMessages(ctx.prepare, ids), ids.length);
    }
    const dstModseq = dst.highest_modseq + 1;
    const srcModseq = src.highest_modseq + 1;
    const mapping: Array<[number, number]> = [];
    const messageIds: number[] = [];
    for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
      const row = get.get(fromId, uid);
      if (!row) continue;
      // Bump with a parameter rather than +1 so every copy of this command shares one MODSEQ.
      const c = bump.get(dstModseq, toId) as { uid: number; modseq: number };
      insert.run(toId, c.uid, row.message_id, row.flags, dstModseq, row.received_at, savedAt);
      emailRowAdded(ctx.prepare, rec, dst.account_id, toId, row.message_id, row.received_at, null);
      mapping.push([uid, c.uid]);
      if (move) {
        remove.run(fromId, uid);
        record.run(fromId, uid, srcModseq);
        // After the copy is in: the Email keeps its id (RFC 8474 5.1: MOVE keeps EMAILID).
        emailRowRemoved(ctx.prepare, rec, src.account_id, fromId, row.message_id);
        messageIds.push(row.message_id);
      }
    }
    if (move && mapping.length > 0) {
      ctx.prepare('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?').run(srcModseq, fromId);
    }
    return {
      srcAccount: src.account_id,
      dstAccount: dst.account_id,
      uidValidity: dst.uidvalidity,
      mapping,
      files: move ? collectGarbage(ctx.prepare, messageIds) : [],
      states: rec.flush(ctx.prepare),
    };
  });
  emitChanges(ctx, result.states);
  for (const [, uid] of result.mapping) {
    ctx.emit('message', { accountId: result.dstAccount, mailboxId: toId, uid });
  }
  if (move && result.mapping.length > 0) {
    ctx.emit('expunge', {
      accountId: result.srcAccount,
      mailboxId: fromId,
      uids: result.mapping.map(([u]) => u),
    });
  }
  await durable;
  // MOVE's garbage only once durable: a power loss before would bring back rows pointing at these files.
  if (result.files.length > 0) void ctx.blobs.remove(result.files);
  return { uidValidity: result.uidValidity, mapping: result.mapping };
}
