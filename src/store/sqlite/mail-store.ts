// SqliteMailStore: the MailStore operations (expunge, and what IMAP/POP3 add) on the shared SQLite connection.
import type { MailStore } from '../mail-store.js';
import type { SqliteContext } from './context.js';
import { collectGarbage } from './queries.js';

export class SqliteMailStore implements MailStore {
  constructor(private readonly ctx: SqliteContext) {}

  expunge(mailboxId: number, uids: readonly number[]): number[] {
    const { prepare } = this.ctx;
    const result = this.ctx.write(() => {
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
      for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
        const row = find.get(mailboxId, uid);
        if (!row) continue;
        remove.run(mailboxId, uid);
        record.run(mailboxId, uid, modseq);
        removed.push(uid);
        messageIds.push(row.message_id);
      }
      if (removed.length === 0) return { accountId: mailbox.account_id, removed, files: [] as string[] };
      prepare('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?').run(modseq, mailboxId);
      return { accountId: mailbox.account_id, removed, files: collectGarbage(prepare, messageIds) };
    });
    if (!result || result.removed.length === 0) return [];
    // After the commit: no row points at these files any more (best effort; a leftover is only space).
    void this.ctx.blobs.remove(result.files);
    this.ctx.emit('expunge', { accountId: result.accountId, mailboxId, uids: result.removed });
    return result.removed;
  }
}
