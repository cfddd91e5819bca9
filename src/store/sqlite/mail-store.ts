// SqliteMailStore: the MailStore operations (folders, message rows, APPEND, expunge) on the shared SQLite connection.
import type {
  CopyResult,
  FlagOp,
  HeaderIndex,
  IndexEntry,
  MailboxCounts,
  MailboxRef,
  MailStore,
  MessageMeta,
  MetaDetail,
  OpenedMessage,
  StoreFlagsResult,
} from '../mail-store.js';
import type { Mailbox, SpooledBody } from '../store.js';
import type { SqliteContext } from './context.js';
import { appendMessage, appendMessages, type AppendInput } from './mail-append.js';
import { HeaderIndexCache } from './header-index-cache.js';
import { searchHeaders } from './mail-headers.js';
import { openMessage } from './mail-read.js';
import { recentCount, recentFrom } from './mail-recent.js';
import {
  createMailbox,
  listMailboxRefs,
  setMailboxAttributes,
  deleteMailbox,
  findMailbox,
  getMailboxById,
  hasChildren,
  listSubscriptions,
  renameMailbox,
  setSubscribed,
} from './mail-folders.js';
import {
  changedSince,
  copyOrMove,
  counts,
  listIndex,
  messageMeta,
  storeFlags,
  vanishedSince,
} from './mail-messages.js';
import { collectGarbage } from './queries.js';
import { ChangeRecorder } from './changes.js';
import { emitChanges } from './change-events.js';
import { emailRowRemoved } from './emails.js';

export class SqliteMailStore implements MailStore {
  /** Header indexes for SEARCH, shared by every session of this process (mail-headers.ts). */
  private readonly headerCache: HeaderIndexCache;

  /** @param headerCacheBytes the header cache's budget (default HEADER_CACHE_BYTES; 0: no cache) */
  constructor(
    private readonly ctx: SqliteContext,
    headerCacheBytes?: number,
  ) {
    this.headerCache = new HeaderIndexCache(headerCacheBytes);
  }

  async expunge(mailboxId: number, uids: readonly number[]): Promise<number[]> {
    const { prepare } = this.ctx;
    // writeLazy: the WAL fsync runs on the thread pool, not on the event loop every session shares;
    // the caller (IMAP's tagged OK, POP3's +OK after QUIT) is answered only once it is done (below).
    const { result, durable } = this.ctx.writeLazy(() => {
      const mailbox = prepare<[number], { account_id: number; highest_modseq: number }>(
        'SELECT account_id, highest_modseq FROM mailboxes WHERE id = ?',
      ).get(mailboxId);
      if (!mailbox) return null;
      const find = prepare<[number, number], { message_id: number }>(
        'SELECT message_id FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?',
      );
      const remove = prepare('DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?');
      const record = prepare(
        'INSERT INTO mailbox_expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?) ' +
          'ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq',
      );
      // One MODSEQ for the whole expunge: it is one change as far as CONDSTORE clients are concerned.
      const modseq = mailbox.highest_modseq + 1;
      const removed: number[] = [];
      const messageIds: number[] = [];
      const rec = new ChangeRecorder();
      for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
        const row = find.get(mailboxId, uid);
        if (!row) continue;
        remove.run(mailboxId, uid);
        record.run(mailboxId, uid, modseq);
        emailRowRemoved(prepare, rec, mailbox.account_id, mailboxId, row.message_id);
        removed.push(uid);
        messageIds.push(row.message_id);
      }
      if (removed.length === 0) return { accountId: mailbox.account_id, removed, files: [] as string[] };
      prepare('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?').run(modseq, mailboxId);
      const files = collectGarbage(prepare, messageIds);
      return { accountId: mailbox.account_id, removed, files, states: rec.flush(prepare) };
    });
    if (!result || result.removed.length === 0) {
      await durable;
      return [];
    }
    this.ctx.emit('expunge', { accountId: result.accountId, mailboxId, uids: result.removed });
    if (result.states) emitChanges(this.ctx, result.states);
    await durable;
    // Only once durable: before, a power loss could bring the rows back pointing at deleted files.
    // Best effort; a leftover file is only space.
    void this.ctx.blobs.remove(result.files);
    return result.removed;
  }

  highestModseq(mailboxId: number): number | null {
    const row = this.ctx
      .prepare<[number], { m: number }>('SELECT highest_modseq AS m FROM mailboxes WHERE id = ?')
      .get(mailboxId);
    return row?.m ?? null;
  }

  findMailbox(accountId: number, name: string): MailboxRef | null {
    return findMailbox(this.ctx, accountId, name);
  }

  listMailboxRefs(accountId: number): MailboxRef[] {
    return listMailboxRefs(this.ctx, accountId);
  }

  getMailboxById(mailboxId: number): Mailbox | null {
    return getMailboxById(this.ctx, mailboxId);
  }

  hasChildren(accountId: number, name: string): boolean {
    return hasChildren(this.ctx, accountId, name);
  }

  createMailbox(accountId: number, name: string, specialUse: string | null = null): Mailbox {
    return createMailbox(this.ctx, accountId, name, specialUse);
  }

  deleteMailbox(accountId: number, name: string): void {
    deleteMailbox(this.ctx, accountId, name);
  }

  renameMailbox(accountId: number, from: string, to: string): void {
    renameMailbox(this.ctx, accountId, from, to);
  }

  setSubscribed(accountId: number, name: string, subscribed: boolean): void {
    setSubscribed(this.ctx, accountId, name, subscribed);
  }

  setMailboxAttributes(
    accountId: number,
    name: string,
    attributes: { specialUse?: string | null; sortOrder?: number | null },
  ): void {
    setMailboxAttributes(this.ctx, accountId, name, attributes);
  }

  listSubscriptions(accountId: number): string[] {
    return listSubscriptions(this.ctx, accountId);
  }

  listIndex(mailboxId: number): IndexEntry[] {
    return listIndex(this.ctx, mailboxId);
  }

  changedSince(mailboxId: number, modseq: number): IndexEntry[] {
    return changedSince(this.ctx, mailboxId, modseq);
  }

  vanishedSince(mailboxId: number, modseq: number): number[] {
    return vanishedSince(this.ctx, mailboxId, modseq);
  }

  counts(mailboxId: number): MailboxCounts {
    return counts(this.ctx, mailboxId);
  }

  recentFrom(mailboxId: number, below: number, claim: boolean): number | null {
    return recentFrom(this.ctx, mailboxId, below, claim);
  }

  recentCount(mailboxId: number): number {
    return recentCount(this.ctx, mailboxId);
  }

  messageMeta(mailboxId: number, lo: number, hi: number, withStructure: MetaDetail): Promise<MessageMeta[]> {
    return messageMeta(this.ctx, mailboxId, lo, hi, withStructure);
  }

  searchHeaders(
    messageIds: readonly number[],
    containing: string | null = null,
  ): Promise<Array<HeaderIndex | null>> {
    return searchHeaders(this.ctx, this.headerCache, messageIds, containing);
  }

  storeFlags(
    mailboxId: number,
    uids: readonly number[],
    op: FlagOp,
    flags: readonly string[],
    unchangedSince: number | null,
  ): Promise<StoreFlagsResult> {
    return storeFlags(this.ctx, mailboxId, uids, op, flags, unchangedSince);
  }

  copy(fromMailboxId: number, uids: readonly number[], toMailboxId: number): Promise<CopyResult> {
    return copyOrMove(this.ctx, fromMailboxId, uids, toMailboxId, false);
  }

  move(fromMailboxId: number, uids: readonly number[], toMailboxId: number): Promise<CopyResult> {
    return copyOrMove(this.ctx, fromMailboxId, uids, toMailboxId, true);
  }

  append(
    mailboxId: number,
    body: SpooledBody,
    flags: readonly string[],
    internalDate: Date,
    internalDateOffset = 0,
  ): Promise<{ uid: number; uidValidity: number }> {
    return appendMessage(this.ctx, mailboxId, body, flags, internalDate, internalDateOffset);
  }

  appendAll(
    mailboxId: number,
    messages: readonly AppendInput[],
  ): Promise<{ uids: number[]; uidValidity: number }> {
    return appendMessages(this.ctx, mailboxId, messages);
  }

  openMessage(messageId: number): Promise<OpenedMessage> {
    return openMessage(this.ctx, messageId);
  }
}
