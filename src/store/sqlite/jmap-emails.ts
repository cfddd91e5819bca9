// SqliteJmapStore: the JmapStore (jmap-store.ts) on SQLite: Emails, Threads, the mailbox query; Email/set in jmap-email-set.ts.
import { keywordsOfFlags } from '../../mail/keywords.js';
import type {
  ChangesResult,
  EmailRecord,
  EmailSetResult,
  JmapStates,
  JmapStore,
  JmapType,
  ThreadRecord,
} from '../jmap-store.js';
import { decodeId, encodeId } from '../object-ids.js';
import type { SqliteContext } from './context.js';
import { emitChanges } from './change-events.js';
import { ChangeKind, ChangeRecorder, changeCounter, readChanges, readStates } from './changes.js';
import {
  destroyEmails,
  mailboxRowId,
  setKeywords,
  setMailboxes,
  splitFlags,
  type EmailRow,
} from './jmap-email-set.js';

/**
 * A mailbox's Email ids by receivedAt, newest first (queryMailbox): mailbox_messages_received (migration 10)
 * read backwards, so the first page touches about `limit` rows (test/unit/store/sqlite-jmap-plan.test.ts).
 * Parameters: account, mailbox, limit, offset.
 */
export const QUERY_MAILBOX_SQL =
  'SELECT e.id FROM mailbox_messages mm JOIN emails e ON e.account_id = ? AND e.message_id = mm.message_id ' +
  'WHERE mm.mailbox_id = ? ORDER BY mm.received_at DESC, mm.message_id DESC LIMIT ? OFFSET ?';

/**
 * getEmails' one statement: each Email of a JSON array of email row ids in an account, with its
 * message's size and one row per mailbox holding it (mailboxIds, keywords). CROSS JOIN makes json_each
 * the outer loop (SQLite keeps a CROSS JOIN's order): left to choose, the planner walks the account's
 * whole emails index and probes the id list per row, ~1 s a page on 100,000 messages. Pinned by
 * test/unit/store/sqlite-jmap-plan.test.ts. The account's mailboxes only: a message delivered to two
 * local accounts is one messages row with mailbox rows in both.
 */
export const GET_EMAILS_SQL =
  'SELECT e.id, e.message_id, e.thread_id, e.received_at, m.size, m.preview, mm.mailbox_id, mm.flags FROM json_each(?) j ' +
  'CROSS JOIN emails e ON e.id = j.value JOIN messages m ON m.id = e.message_id ' +
  'JOIN mailbox_messages mm ON mm.message_id = e.message_id JOIN mailboxes b ON b.id = mm.mailbox_id ' +
  'WHERE e.account_id = ? AND b.account_id = e.account_id';

export class SqliteJmapStore implements JmapStore {
  constructor(private readonly ctx: SqliteContext) {}

  states(accountId: number): JmapStates {
    return readStates(this.ctx.prepare, accountId);
  }

  changeCounter(accountId: number): number {
    return changeCounter(this.ctx.prepare, accountId);
  }

  changes(accountId: number, type: JmapType, sinceState: string, maxChanges: number | null): ChangesResult {
    // One read transaction: the rows and the states it compares them with are from one snapshot.
    return this.ctx.db.transaction(() =>
      readChanges(this.ctx.prepare, accountId, type, sinceState, maxChanges),
    )();
  }

  recordChange(
    accountId: number,
    type: JmapType,
    objectId: number,
    kind: 'created' | 'updated' | 'destroyed',
  ): void {
    const k =
      kind === 'created'
        ? ChangeKind.Created
        : kind === 'updated'
          ? ChangeKind.Updated
          : ChangeKind.Destroyed;
    const states = this.ctx.write(() => {
      const rec = new ChangeRecorder();
      rec.note(accountId, type, objectId, k);
      return rec.flush(this.ctx.prepare);
    });
    emitChanges(this.ctx, states);
  }

  /**
   * One statement for the whole list, not two per Email: a message list page (50 ids) was 100 point
   * reads, the largest item in the server's CPU profile under bench/jmap.ts (0.18 -> 0.14 ms for 50 in
   * bench/jmap-store.ts). The ids go in as one JSON array (json_each), so the SQL text, and its cached
   * statement, is the same for any number of ids.
   */
  getEmails(accountId: number, ids: readonly string[]): Array<EmailRecord | null> {
    // Distinct ids: a repeated id must not repeat its mailbox rows (mailboxIds would list one twice).
    const numbers = new Set<number>();
    for (const id of ids) {
      const n = decodeId('email', id);
      if (n !== null) numbers.add(n);
    }
    if (numbers.size === 0) return ids.map(() => null);
    const list = JSON.stringify([...numbers]);
    // One statement, so one snapshot: an Email row per mailbox holding it (an Email is in at least one).
    const rows = this.ctx
      .prepare<[string, number], EmailRow & { preview: string | null; mailbox_id: number; flags: string }>(
        GET_EMAILS_SQL,
      )
      .all(list, accountId);
    const placed = new Map<
      number,
      { e: EmailRow & { preview: string | null }; boxes: number[]; flags: string[] }
    >();
    for (const r of rows) {
      const p = placed.get(r.id);
      if (p) {
        p.boxes.push(r.mailbox_id);
        p.flags.push(...splitFlags(r.flags));
      } else placed.set(r.id, { e: r, boxes: [r.mailbox_id], flags: splitFlags(r.flags) });
    }
    const byId = new Map<number, EmailRecord>();
    for (const { e, boxes, flags } of placed.values()) {
      byId.set(e.id, {
        id: encodeId('email', e.id),
        messageId: e.message_id,
        blobId: encodeId('blob', e.message_id),
        threadId: encodeId('thread', e.thread_id),
        mailboxIds: boxes.map((b) => encodeId('mailbox', b)).sort(),
        keywords: keywordsOfFlags(flags),
        size: e.size,
        receivedAt: new Date(e.received_at),
        preview: e.preview,
      });
    }
    // Each asked id gets its own record (a caller may mutate one; duplicates stay distinct objects).
    return ids.map((id) => {
      const n = decodeId('email', id);
      const e = n === null ? undefined : byId.get(n);
      return e ? { ...e, mailboxIds: [...e.mailboxIds], keywords: [...e.keywords] } : null;
    });
  }

  storePreviews(previews: ReadonlyArray<{ messageId: number; preview: string }>): void {
    if (previews.length === 0) return;
    // A cache of a pure function of the message: committed now, its fsync not waited for (writeLazy).
    const { durable } = this.ctx.writeLazy(() => {
      const set = this.ctx.prepare('UPDATE messages SET preview = ? WHERE id = ? AND preview IS NULL');
      for (const p of previews) set.run(p.preview, p.messageId);
    });
    durable.catch(() => undefined);
  }

  getThreads(accountId: number, ids: readonly string[]): Array<ThreadRecord | null> {
    const list = this.ctx.prepare<[number, number], { id: number }>(
      'SELECT id FROM emails WHERE thread_id = ? AND account_id = ? ORDER BY received_at, id',
    );
    return this.ctx.db.transaction(() =>
      ids.map((id) => {
        const n = decodeId('thread', id);
        if (n === null) return null;
        const emails = list.all(n, accountId);
        return emails.length === 0 ? null : { id, emailIds: emails.map((e) => encodeId('email', e.id)) };
      }),
    )();
  }

  queryMailbox(
    accountId: number,
    mailboxId: string,
    position: number,
    limit: number,
    withTotal: boolean,
  ): { ids: string[]; total: number | null } | null {
    const box = this.mailboxRowId(accountId, mailboxId);
    if (box === null) return null;
    return this.ctx.db.transaction(() => {
      const rows = this.ctx
        .prepare<[number, number, number, number], [number]>(QUERY_MAILBOX_SQL)
        .raw(true)
        .all(accountId, box, limit, position);
      const total = withTotal
        ? (this.ctx
            .prepare<[number], { n: number }>(
              'SELECT COUNT(*) AS n FROM mailbox_messages WHERE mailbox_id = ?',
            )
            .get(box)?.n ?? 0)
        : null;
      return { ids: rows.map((r) => encodeId('email', r[0])), total };
    })();
  }

  setKeywords(
    accountId: number,
    emailIds: readonly string[],
    keywords: readonly string[],
  ): Promise<EmailSetResult> {
    return setKeywords(this.ctx, accountId, emailIds, keywords);
  }

  setMailboxes(accountId: number, emailId: string, mailboxIds: readonly string[]): Promise<EmailSetResult> {
    return setMailboxes(this.ctx, accountId, emailId, mailboxIds);
  }

  destroyEmails(
    accountId: number,
    emailIds: readonly string[],
  ): Promise<{ destroyed: string[]; notFound: string[] }> {
    return destroyEmails(this.ctx, accountId, emailIds);
  }

  mailboxCounts(
    accountId: number,
    mailboxId: string,
  ): { totalEmails: number; unreadEmails: number; totalThreads: number; unreadThreads: number } | null {
    const box = this.mailboxRowId(accountId, mailboxId);
    if (box === null) return null;
    const unseen = "(' ' || lower(mm.flags) || ' ') NOT LIKE '% \\seen %'";
    const row = this.ctx
      .prepare<
        [number, number],
        { total: number; unread: number | null; threads: number; unread_threads: number }
      >(
        `SELECT COUNT(*) AS total, SUM(CASE WHEN ${unseen} THEN 1 ELSE 0 END) AS unread, ` +
          'COUNT(DISTINCT e.thread_id) AS threads, ' +
          `COUNT(DISTINCT CASE WHEN ${unseen} THEN e.thread_id END) AS unread_threads ` +
          'FROM mailbox_messages mm JOIN emails e ON e.account_id = ? AND e.message_id = mm.message_id ' +
          'WHERE mm.mailbox_id = ?',
      )
      .get(accountId, box);
    return {
      totalEmails: row?.total ?? 0,
      unreadEmails: row?.unread ?? 0,
      totalThreads: row?.threads ?? 0,
      unreadThreads: row?.unread_threads ?? 0,
    };
  }

  mailboxObjectId(mailboxId: number): string {
    return encodeId('mailbox', mailboxId);
  }

  mailboxRowId(accountId: number, id: string): number | null {
    return mailboxRowId(this.ctx, accountId, id);
  }

  objectIds(
    accountId: number,
    messageIds: readonly number[],
  ): Array<{ emailId: string; threadId: string } | null> {
    const get = this.ctx.prepare<[number, number], { id: number; thread_id: number }>(
      'SELECT id, thread_id FROM emails WHERE account_id = ? AND message_id = ?',
    );
    return messageIds.map((m) => {
      const r = get.get(accountId, m);
      return r ? { emailId: encodeId('email', r.id), threadId: encodeId('thread', r.thread_id) } : null;
    });
  }

  listEmails(accountId: number): EmailRecord[] {
    // One pass over the account's mailbox rows joined to its Emails; mailboxes and flags are folded
    // per Email here (GROUP_CONCAT would need a temp B-tree of its own).
    const rows = this.ctx
      .prepare<[number, number], [number, number, number, number, number, number, string]>(
        'SELECT e.id, e.message_id, e.thread_id, e.received_at, m.size, mm.mailbox_id, mm.flags ' +
          'FROM emails e JOIN messages m ON m.id = e.message_id ' +
          'JOIN mailbox_messages mm ON mm.message_id = e.message_id ' +
          'JOIN mailboxes b ON b.id = mm.mailbox_id AND b.account_id = ? ' +
          'WHERE e.account_id = ? ORDER BY e.received_at DESC, e.message_id DESC, mm.mailbox_id',
      )
      .raw(true);
    const out: EmailRecord[] = [];
    let flags: string[] = [];
    let last: EmailRecord | null = null;
    const finish = (): void => {
      if (last) last.keywords = keywordsOfFlags(flags);
    };
    for (const [id, messageId, threadId, receivedAt, size, mailboxId, rowFlags] of rows.iterate(
      accountId,
      accountId,
    )) {
      if (last === null || last.messageId !== messageId) {
        finish();
        flags = [];
        last = {
          id: encodeId('email', id),
          messageId,
          blobId: encodeId('blob', messageId),
          threadId: encodeId('thread', threadId),
          mailboxIds: [],
          keywords: [],
          size,
          receivedAt: new Date(receivedAt),
          preview: null, // not read: query and sort do not use it (Email/get reads it by getEmails)
        };
        out.push(last);
      }
      last.mailboxIds.push(encodeId('mailbox', mailboxId));
      if (rowFlags !== '') flags.push(...splitFlags(rowFlags));
    }
    finish();
    for (const e of out) if (e.mailboxIds.length > 1) e.mailboxIds.sort();
    return out;
  }

  messageIdsOf(accountId: number, id: string): number[] {
    const email = decodeId('email', id);
    if (email !== null) {
      return this.ctx
        .prepare<[number, number], { message_id: number }>(
          'SELECT message_id FROM emails WHERE id = ? AND account_id = ?',
        )
        .all(email, accountId)
        .map((r) => r.message_id);
    }
    const thread = decodeId('thread', id);
    if (thread === null) return [];
    return this.ctx
      .prepare<[number, number], { message_id: number }>(
        'SELECT message_id FROM emails WHERE thread_id = ? AND account_id = ?',
      )
      .all(thread, accountId)
      .map((r) => r.message_id);
  }
}
