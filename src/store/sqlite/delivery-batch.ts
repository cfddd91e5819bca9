// What the deliveries of one group-commit transaction share: mailbox UID/MODSEQ counters written once per mailbox, and look-ups answered once.
import type { DeliveryRequest } from '../store.js';
import type { Prepare } from './statements.js';

/*
 * A group commit writes 10-20 deliveries, mostly to the same few mailboxes, in one transaction
 * (group-committer.ts). Each delivery used to take its UID and MODSEQ with its own
 * `UPDATE mailboxes ... RETURNING` (RFC 9051 2.3.1.1: the UID handed out is the one counted) and to
 * look its target mailbox up again; an UPDATE with RETURNING is ~2-3x a plain one, and the two were a
 * fifth of a delivery's statement time (bench/README.md, SMTP). Inside one write transaction nobody else
 * can move those counters, so the batch reads a mailbox's counters once, hands out the next values
 * itself, and writes the last ones back at the end (flush): the same UIDs and MODSEQs, the same final
 * row, one UPDATE per mailbox per batch.
 *
 * Whatever else in the transaction reads or moves the counters must see them written first: flush()
 * before it (deliver.ts does so before an IMAP APPEND's own placement, mail-append.ts).
 */

/** A mailbox's counters as handed out so far in this transaction. */
interface Counters {
  uidnext: number;
  modseq: number;
}

/** A delivery target's mailbox with its account's address and quota limits (null: none). */
export interface TargetRow {
  id: number;
  name: string;
  address: string;
  quota_bytes: number | null;
  quota_messages: number | null;
}

const TARGET_SELECT =
  'SELECT m.id, m.name, a.address, a.quota_bytes, a.quota_messages FROM mailboxes m JOIN accounts a ON a.id = m.account_id';
// Whole texts built once: the statement cache is keyed by the text, and a template per call rebuilt and rehashed it.
const TARGET_BY_NAME = `${TARGET_SELECT} WHERE m.account_id = ? AND m.name = ?`;
const TARGET_BY_SPECIAL_USE = `${TARGET_SELECT} WHERE m.account_id = ? AND m.special_use = ? ORDER BY m.id LIMIT 1`;

export class DeliveryBatch {
  private readonly counters = new Map<number, Counters>();
  /** Target look-ups by account and mailbox name or special use: nothing in a delivery batch renames a mailbox. */
  private readonly targets = new Map<string, TargetRow | null>();
  /** Whether an account's VacationResponse is enabled (RFC 8621 8), as read in this transaction. */
  private readonly away = new Map<number, boolean>();

  /**
   * The next UID and MODSEQ of `mailboxId`, counted as taken (the mailbox row is written by flush).
   * Undefined when the mailbox does not exist.
   */
  take(prepare: Prepare, mailboxId: number): { uid: number; modseq: number } | undefined {
    let c = this.counters.get(mailboxId);
    if (!c) {
      const row = prepare<[number], { uidnext: number; highest_modseq: number }>(
        'SELECT uidnext, highest_modseq FROM mailboxes WHERE id = ?',
      ).get(mailboxId);
      if (!row) return undefined;
      c = { uidnext: row.uidnext, modseq: row.highest_modseq };
      this.counters.set(mailboxId, c);
    }
    const taken = { uid: c.uidnext, modseq: c.modseq + 1 };
    c.uidnext++;
    c.modseq++;
    return taken;
  }

  /** Writes the counters handed out back to their mailboxes, and forgets them (a later take reads again). */
  flush(prepare: Prepare): void {
    if (this.counters.size === 0) return;
    const write = prepare('UPDATE mailboxes SET uidnext = ?, highest_modseq = ? WHERE id = ?');
    for (const [id, c] of this.counters) write.run(c.uidnext, c.modseq, id);
    this.counters.clear();
  }

  /**
   * The mailbox a local copy goes to. One probe gives the mailbox, the names the log line shows and whether
   * the account has a quota at all, so an account without one (most) costs no usage read (quota.ts) and the
   * log no look-up after the commit. A named mailbox that does not exist (renamed, deleted) falls back to
   * INBOX: never lose mail. So does a special use no mailbox carries (the user deleted Junk). Undefined:
   * the account is gone.
   */
  targetMailbox(prepare: Prepare, target: DeliveryRequest['local'][number]): TargetRow | undefined {
    const { accountId, mailbox, specialUse } = target;
    const byName = (name: string): TargetRow | undefined =>
      this.target(`${accountId}\0${name}`, () =>
        prepare<[number, string], TargetRow>(TARGET_BY_NAME).get(accountId, name),
      );
    return (
      (mailbox !== undefined ? byName(mailbox) : undefined) ??
      (specialUse !== undefined
        ? this.target(`${accountId}\0\0${specialUse}`, () =>
            prepare<[number, string], TargetRow>(TARGET_BY_SPECIAL_USE).get(accountId, specialUse),
          )
        : undefined) ??
      byName('INBOX')
    );
  }

  /** A target row by `key` (account and name, or special use), read by `read` once per transaction. */
  private target(key: string, read: () => TargetRow | undefined): TargetRow | undefined {
    let row = this.targets.get(key);
    if (row === undefined) {
      row = read() ?? null;
      this.targets.set(key, row);
    }
    return row ?? undefined;
  }

  /** Whether `accountId`'s vacation auto-reply is on, read once per transaction. */
  vacationEnabled(prepare: Prepare, accountId: number): boolean {
    let on = this.away.get(accountId);
    if (on === undefined) {
      on =
        prepare<[number], { one: number }>(
          'SELECT 1 AS one FROM jmap_vacation WHERE account_id = ? AND is_enabled = 1',
        ).get(accountId) !== undefined;
      this.away.set(accountId, on);
    }
    return on;
  }
}
