// SqliteUrlAuthStore: URLAUTH access keys per mailbox (table of schema.ts migration 22).
import type { UrlAuthStore } from '../urlauth-store.js';
import type { SqliteContext } from './context.js';

export class SqliteUrlAuthStore implements UrlAuthStore {
  /** RESETKEYs applied by this process, per account (`a<id>`) and per mailbox (`m<id>`): see resetCount. */
  private readonly resets = new Map<string, number>();

  constructor(private readonly ctx: SqliteContext) {}

  resetCount(accountId: number, mailboxId: number): number {
    return (this.resets.get(`a${accountId}`) ?? 0) + (this.resets.get(`m${mailboxId}`) ?? 0);
  }

  existingKey(mailboxId: number): Buffer | null {
    // Not cached: RESETKEY in another process (or session) must take effect at once.
    return (
      this.ctx
        .prepare<[number], { key: Buffer }>('SELECT key FROM urlauth_keys WHERE mailbox_id = ?')
        .get(mailboxId)?.key ?? null
    );
  }

  mailboxKey(mailboxId: number, create: () => Buffer): Buffer {
    const found = this.existingKey(mailboxId);
    if (found) return found;
    // INSERT OR IGNORE then read: two sessions making the first key at once agree on one.
    this.ctx.write(() =>
      this.ctx
        .prepare('INSERT OR IGNORE INTO urlauth_keys (mailbox_id, key, created_at) VALUES (?, ?, ?)')
        .run(mailboxId, create(), this.ctx.clock().getTime()),
    );
    const key = this.existingKey(mailboxId);
    if (!key) throw new Error('URLAUTH key could not be stored');
    return key;
  }

  resetKeys(accountId: number, mailboxId: number | null): void {
    this.ctx.write(() => {
      if (mailboxId !== null) {
        this.ctx
          .prepare(
            'DELETE FROM urlauth_keys WHERE mailbox_id = ? AND mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)',
          )
          .run(mailboxId, accountId);
      } else {
        this.ctx
          .prepare(
            'DELETE FROM urlauth_keys WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)',
          )
          .run(accountId);
      }
    });
    const key = mailboxId === null ? `a${accountId}` : `m${mailboxId}`;
    this.resets.set(key, (this.resets.get(key) ?? 0) + 1);
  }
}
