// Quotas in SQLite (issue 12): limits on accounts, usage in account_usage (kept by the triggers of migration 23), the recount.
import type Database from 'better-sqlite3';
import { OverQuotaError, quotaVerdict, type QuotaState } from '../quota.js';
import type { Prepare } from './statements.js';

interface QuotaRow {
  account_id: number;
  bytes: number;
  messages: number;
  quota_bytes: number | null;
  quota_messages: number | null;
}

const QUOTA_SELECT =
  'SELECT a.id AS account_id, COALESCE(u.bytes, 0) AS bytes, COALESCE(u.messages, 0) AS messages, ' +
  'a.quota_bytes, a.quota_messages FROM accounts a LEFT JOIN account_usage u ON u.account_id = a.id';

function stateOf(r: QuotaRow): QuotaState {
  return {
    accountId: r.account_id,
    bytes: r.bytes,
    messages: r.messages,
    limitBytes: r.quota_bytes,
    limitMessages: r.quota_messages,
  };
}

/** One account's quota and usage, as of this transaction; null: no such account. */
export function quotaState(prepare: Prepare, accountId: number): QuotaState | null {
  const row = prepare<[number], QuotaRow>(`${QUOTA_SELECT} WHERE a.id = ?`).get(accountId);
  return row ? stateOf(row) : null;
}

/** Every account's quota and usage (user list --json). */
export function allQuotaStates(prepare: Prepare): QuotaState[] {
  return prepare<[], QuotaRow>(QUOTA_SELECT).all().map(stateOf);
}

/**
 * Throws OverQuotaError unless `bytes` octets in `messages` messages fit the account. Called inside the
 * write transaction before the rows go in, so two concurrent changes cannot both squeeze under the limit.
 */
export function requireQuota(prepare: Prepare, accountId: number, bytes: number, messages: number): void {
  const q = quotaState(prepare, accountId);
  if (!q) return;
  const verdict = quotaVerdict(q, bytes, messages);
  if (verdict !== 'ok') throw new OverQuotaError(accountId, verdict === 'too-big');
}

/** Sum of the sizes of these messages (COPY and JMAP add existing messages to an account). */
export function sizeOfMessages(prepare: Prepare, messageIds: readonly number[]): number {
  const one = prepare<[number], { size: number }>('SELECT size FROM messages WHERE id = ?');
  let total = 0;
  for (const id of messageIds) total += one.get(id)?.size ?? 0;
  return total;
}

/** An account whose stored usage differs from a recount of its mailboxes. */
export interface UsageMismatch {
  accountId: number;
  stored: { bytes: number; messages: number };
  counted: { bytes: number; messages: number };
}

const RECOUNT =
  'SELECT a.id AS account_id, COALESCE(u.bytes, -1) AS bytes, COALESCE(u.messages, -1) AS messages, ' +
  '(SELECT COALESCE(SUM(m.size), 0) FROM mailboxes mb JOIN mailbox_messages mm ON mm.mailbox_id = mb.id ' +
  '   JOIN messages m ON m.id = mm.message_id WHERE mb.account_id = a.id) AS counted_bytes, ' +
  '(SELECT COUNT(*) FROM mailboxes mb JOIN mailbox_messages mm ON mm.mailbox_id = mb.id ' +
  '   WHERE mb.account_id = a.id) AS counted_messages ' +
  'FROM accounts a LEFT JOIN account_usage u ON u.account_id = a.id';

/** The integrity check's recount (backup.ts checkDataDir, tests): accounts whose stored usage is wrong. */
export function usageMismatches(db: Database.Database): UsageMismatch[] {
  const rows = db.prepare(RECOUNT).all() as {
    account_id: number;
    bytes: number;
    messages: number;
    counted_bytes: number;
    counted_messages: number;
  }[];
  return rows
    .filter((r) => r.bytes !== r.counted_bytes || r.messages !== r.counted_messages)
    .map((r) => ({
      accountId: r.account_id,
      stored: { bytes: r.bytes, messages: r.messages },
      counted: { bytes: r.counted_bytes, messages: r.counted_messages },
    }));
}
