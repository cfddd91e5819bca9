// Storage quotas (issue 12, RFC 9208): an account's limits and usage, and the pure decision whether a change fits.
import { MailroomError } from '../errors.js';

/** An account's quota and usage; a limit of null means none (RFC 9208 resources STORAGE and MESSAGE). */
export interface QuotaState {
  accountId: number;
  /** Octets of every message in every mailbox (a message in two mailboxes counts twice). */
  bytes: number;
  messages: number;
  limitBytes: number | null;
  limitMessages: number | null;
}

/**
 * 'ok'; 'full': it would take the account over a limit (temporary: deleting mail makes room, RFC 3463
 * 4.2.2 / 452); 'too-big': the addition alone exceeds a limit, so no amount of deleting helps (5.2.2 / 552).
 */
export type QuotaVerdict = 'ok' | 'full' | 'too-big';

/** Whether adding `bytes` octets in `messages` messages fits the account's quota. */
export function quotaVerdict(q: QuotaState, bytes: number, messages: number): QuotaVerdict {
  if (q.limitBytes !== null && bytes > q.limitBytes) return 'too-big';
  if (q.limitMessages !== null && messages > q.limitMessages) return 'too-big';
  if (q.limitBytes !== null && q.bytes + bytes > q.limitBytes) return 'full';
  if (q.limitMessages !== null && q.messages + messages > q.limitMessages) return 'full';
  return 'ok';
}

/** Whether the account is at or over a limit already: nothing more fits (SMTP RCPT's early 452 4.2.2). */
export function quotaFull(q: QuotaState): boolean {
  return (
    (q.limitBytes !== null && q.bytes >= q.limitBytes) ||
    (q.limitMessages !== null && q.messages >= q.limitMessages)
  );
}

/** A change refused because it does not fit the account's quota; `permanent` when it alone exceeds it. */
export class OverQuotaError extends MailroomError {
  constructor(
    readonly accountId: number,
    readonly permanent: boolean,
  ) {
    super(
      'OVER_QUOTA',
      permanent ? 'message exceeds the mailbox quota' : 'mailbox full: over the storage quota',
    );
    this.name = 'OverQuotaError';
  }
}

export function isOverQuota(error: unknown): error is OverQuotaError {
  return error instanceof OverQuotaError;
}

/**
 * Parses the CLI's SIZE (CONTRACT.md: "2G", "500M", "0" = none): a whole number of octets with an optional
 * K/M/G/T suffix (binary multiples, as `du -h` and Dovecot's quota_rule mean them); null for "0".
 */
export function parseQuotaSize(text: string): number | null {
  const m = /^(\d{1,15})([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m) throw new MailroomError('BAD_QUOTA', `not a size: "${text}" (e.g. 2G, 500M, 0 for none)`);
  const power = ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
  const value = Number(m[1]) * 1024 ** power;
  if (!Number.isSafeInteger(value)) throw new MailroomError('BAD_QUOTA', `size too large: "${text}"`);
  return value === 0 ? null : value;
}
