// SqliteSendingStore: Identities, EmailSubmissions and the VacationResponse on SQLite (tables of schema.ts migration 12).
import type { JmapStates, JmapType } from '../jmap-store.js';
import { decodeId, encodeId } from '../object-ids.js';
import type {
  AddressValue,
  IdentityFields,
  IdentityRecord,
  RecipientStatus,
  SendingStore,
  SubmissionEnvelope,
  SubmissionRecord,
  VacationRecord,
} from '../sending-store.js';
import { VACATION_DEFAULT } from '../sending-store.js';
import { emitChanges } from './change-events.js';
import { ChangeKind, ChangeRecorder } from './changes.js';
import type { SqliteContext } from './context.js';
import type { LookupCache } from './lookup-cache.js';
import type { Prepare } from './statements.js';

interface IdentityRow {
  id: number;
  email: string;
  name: string;
  reply_to_json: string | null;
  bcc_json: string | null;
  text_signature: string;
  html_signature: string;
  auto: number;
}

interface SubmissionRow {
  id: number;
  identity_id: string;
  email_id: string;
  thread_id: string;
  envelope_json: string;
  send_at: number;
  queue_id: string;
}

const parseAddresses = (json: string | null): AddressValue[] | null =>
  json === null ? null : (JSON.parse(json) as AddressValue[]);
const jsonOrNull = (value: AddressValue[] | null): string | null =>
  value === null ? null : JSON.stringify(value);

function toIdentity(r: IdentityRow): IdentityRecord {
  return {
    id: encodeId('identity', r.id),
    email: r.email,
    name: r.name,
    replyTo: parseAddresses(r.reply_to_json),
    bcc: parseAddresses(r.bcc_json),
    textSignature: r.text_signature,
    htmlSignature: r.html_signature,
    auto: r.auto === 1,
  };
}

/**
 * The queue's side (sqlite/queue-store.ts recordResults): a recipient's new state becomes the
 * deliveryStatus of the submission that queued it (RFC 8621 7: delivered queued/yes/no, smtpReply), and an
 * EmailSubmission change, in the queue's own transaction. A queue entry no submission made changes nothing.
 */
export function noteQueueResult(
  prepare: Prepare,
  recorder: ChangeRecorder,
  queueId: string,
  address: string,
  state: 'pending' | 'deferred' | 'delivered' | 'failed',
  reply: string | null,
): void {
  const delivered = state === 'delivered' ? 'yes' : state === 'failed' ? 'no' : 'queued';
  const smtpReply = reply ?? (state === 'delivered' ? '250 2.0.0 OK' : '');
  const rows = prepare<[string, string, string, string], { submission_id: number; account_id: number }>(
    'UPDATE jmap_submission_recipients SET delivered = ?, smtp_reply = ? WHERE queue_id = ? AND address = ? ' +
      'RETURNING submission_id, account_id',
  ).all(delivered, smtpReply, queueId, address);
  for (const r of rows) recorder.note(r.account_id, 'EmailSubmission', r.submission_id, ChangeKind.Updated);
}

export class SqliteSendingStore implements SendingStore {
  constructor(
    private readonly ctx: SqliteContext,
    /** Optional: answers vacation() from memory until the tables may have changed (lookup-cache.ts). */
    private readonly lookups?: LookupCache,
  ) {}

  /** Runs fn in a write transaction with a change recorder, then emits the new states. */
  private change<T>(
    fn: (note: (accountId: number, type: JmapType, id: number, kind: ChangeKind) => void) => T,
  ): T {
    const { result, states } = this.ctx.write((): { result: T; states: Map<number, JmapStates> } => {
      const recorder = new ChangeRecorder();
      const result = fn((a, t, i, k) => recorder.note(a, t, i, k));
      return { result, states: recorder.flush(this.ctx.prepare) };
    });
    emitChanges(this.ctx, states);
    return result;
  }

  private identityRows(accountId: number): IdentityRow[] {
    return this.ctx
      .prepare<[number], IdentityRow>('SELECT * FROM jmap_identities WHERE account_id = ? ORDER BY id')
      .all(accountId);
  }

  identities(accountId: number, addresses: readonly string[]): IdentityRecord[] {
    const wanted = new Set(addresses.map((a) => a.toLowerCase()));
    const rows = this.identityRows(accountId);
    const autos = new Set(rows.filter((r) => r.auto === 1).map((r) => r.email));
    const stale = rows.filter((r) => r.auto === 1 && !wanted.has(r.email));
    const missing = [...wanted].filter((a) => !autos.has(a));
    if (stale.length === 0 && missing.length === 0) return rows.map(toIdentity);
    return this.change((note) => {
      // Re-read inside the write lock: another process may have reconciled meanwhile.
      const now = this.identityRows(accountId);
      const have = new Set(now.filter((r) => r.auto === 1).map((r) => r.email));
      for (const r of now) {
        if (r.auto === 1 && !wanted.has(r.email)) {
          this.ctx.prepare('DELETE FROM jmap_identities WHERE id = ?').run(r.id);
          note(accountId, 'Identity', r.id, ChangeKind.Destroyed);
        }
      }
      for (const email of wanted) {
        if (have.has(email)) continue;
        const id = Number(
          this.ctx
            .prepare('INSERT INTO jmap_identities (account_id, email, auto) VALUES (?, ?, 1)')
            .run(accountId, email).lastInsertRowid,
        );
        note(accountId, 'Identity', id, ChangeKind.Created);
      }
      return this.identityRows(accountId).map(toIdentity);
    });
  }

  createIdentity(accountId: number, email: string, fields: IdentityFields): IdentityRecord {
    const id = this.change((note) => {
      const n = Number(
        this.ctx
          .prepare(
            'INSERT INTO jmap_identities (account_id, email, name, reply_to_json, bcc_json, text_signature, ' +
              'html_signature, auto) VALUES (?, ?, ?, ?, ?, ?, ?, 0)',
          )
          .run(
            accountId,
            email.toLowerCase(),
            fields.name,
            jsonOrNull(fields.replyTo),
            jsonOrNull(fields.bcc),
            fields.textSignature,
            fields.htmlSignature,
          ).lastInsertRowid,
      );
      note(accountId, 'Identity', n, ChangeKind.Created);
      return n;
    });
    return { id: encodeId('identity', id), email: email.toLowerCase(), ...fields, auto: false };
  }

  updateIdentity(accountId: number, id: string, fields: Partial<IdentityFields>): boolean {
    const n = decodeId('identity', id);
    if (n === null) return false;
    return this.change((note) => {
      const row = this.ctx
        .prepare<[number, number], IdentityRow>(
          'SELECT * FROM jmap_identities WHERE id = ? AND account_id = ?',
        )
        .get(n, accountId);
      if (!row) return false;
      const merged: IdentityFields = { ...toIdentity(row), ...fields };
      this.ctx
        .prepare(
          'UPDATE jmap_identities SET name = ?, reply_to_json = ?, bcc_json = ?, text_signature = ?, ' +
            'html_signature = ? WHERE id = ?',
        )
        .run(
          merged.name,
          jsonOrNull(merged.replyTo),
          jsonOrNull(merged.bcc),
          merged.textSignature,
          merged.htmlSignature,
          n,
        );
      note(accountId, 'Identity', n, ChangeKind.Updated);
      return true;
    });
  }

  destroyIdentity(accountId: number, id: string): boolean {
    const n = decodeId('identity', id);
    if (n === null) return false;
    return this.change((note) => {
      const gone = this.ctx
        .prepare('DELETE FROM jmap_identities WHERE id = ? AND account_id = ?')
        .run(n, accountId).changes;
      if (gone > 0) note(accountId, 'Identity', n, ChangeKind.Destroyed);
      return gone > 0;
    });
  }

  createSubmission(accountId: number, s: Omit<SubmissionRecord, 'id'>): SubmissionRecord {
    const n = this.change((note) => {
      const id = Number(
        this.ctx
          .prepare(
            'INSERT INTO jmap_submissions (account_id, identity_id, email_id, thread_id, envelope_json, send_at, ' +
              'queue_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
          )
          .run(
            accountId,
            s.identityId,
            s.emailId,
            s.threadId,
            JSON.stringify(s.envelope),
            s.sendAt.getTime(),
            s.queueId,
          ).lastInsertRowid,
      );
      const insert = this.ctx.prepare(
        'INSERT OR IGNORE INTO jmap_submission_recipients (submission_id, account_id, queue_id, address, ' +
          'delivered, smtp_reply) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const [address, st] of Object.entries(s.deliveryStatus)) {
        insert.run(id, accountId, s.queueId, address, st.delivered, st.smtpReply);
      }
      note(accountId, 'EmailSubmission', id, ChangeKind.Created);
      return id;
    });
    return { id: encodeId('submission', n), ...s };
  }

  getSubmissions(accountId: number, ids: readonly string[] | null): Array<SubmissionRecord | null> {
    const one = this.ctx.prepare<[number, number], SubmissionRow>(
      'SELECT * FROM jmap_submissions WHERE id = ? AND account_id = ?',
    );
    const statuses = this.ctx.prepare<[number], { address: string; delivered: string; smtp_reply: string }>(
      'SELECT address, delivered, smtp_reply FROM jmap_submission_recipients WHERE submission_id = ?',
    );
    const toRecord = (r: SubmissionRow): SubmissionRecord => ({
      id: encodeId('submission', r.id),
      identityId: r.identity_id,
      emailId: r.email_id,
      threadId: r.thread_id,
      envelope: JSON.parse(r.envelope_json) as SubmissionEnvelope,
      sendAt: new Date(r.send_at),
      queueId: r.queue_id,
      deliveryStatus: Object.fromEntries(
        statuses
          .all(r.id)
          .map((s) => [
            s.address,
            { delivered: s.delivered as RecipientStatus['delivered'], smtpReply: s.smtp_reply },
          ]),
      ),
    });
    return this.ctx.db.transaction(() => {
      if (ids === null) {
        return this.ctx
          .prepare<[number], SubmissionRow>(
            'SELECT * FROM jmap_submissions WHERE account_id = ? ORDER BY send_at, id',
          )
          .all(accountId)
          .map(toRecord);
      }
      return ids.map((id) => {
        const n = decodeId('submission', id);
        const row = n === null ? undefined : one.get(n, accountId);
        return row ? toRecord(row) : null;
      });
    })();
  }

  destroySubmission(accountId: number, id: string): boolean {
    const n = decodeId('submission', id);
    if (n === null) return false;
    return this.change((note) => {
      const gone = this.ctx
        .prepare('DELETE FROM jmap_submissions WHERE id = ? AND account_id = ?')
        .run(n, accountId).changes;
      if (gone > 0) note(accountId, 'EmailSubmission', n, ChangeKind.Destroyed);
      return gone > 0;
    });
  }

  vacation(accountId: number): VacationRecord {
    // Asked for every local recipient of every delivery (delivery/vacation-responder.ts), answered the same
    // until someone writes: cached like the routing lookups. A copy, so a caller cannot change the cache.
    const cached = this.lookups
      ? this.lookups.get(`v:${accountId}`, () => this.readVacation(accountId))
      : this.readVacation(accountId);
    return { ...cached };
  }

  private readVacation(accountId: number): VacationRecord {
    const r = this.ctx
      .prepare<
        [number],
        {
          is_enabled: number;
          from_date: number | null;
          to_date: number | null;
          subject: string | null;
          text_body: string | null;
          html_body: string | null;
        }
      >('SELECT * FROM jmap_vacation WHERE account_id = ?')
      .get(accountId);
    if (!r) return { ...VACATION_DEFAULT };
    return {
      isEnabled: r.is_enabled === 1,
      fromDate: r.from_date === null ? null : new Date(r.from_date),
      toDate: r.to_date === null ? null : new Date(r.to_date),
      subject: r.subject,
      textBody: r.text_body,
      htmlBody: r.html_body,
    };
  }

  setVacation(accountId: number, v: VacationRecord): void {
    this.change((note) => {
      const was = this.vacation(accountId).isEnabled;
      this.ctx
        .prepare(
          'INSERT INTO jmap_vacation (account_id, is_enabled, from_date, to_date, subject, text_body, html_body) ' +
            'VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET is_enabled = excluded.is_enabled, ' +
            'from_date = excluded.from_date, to_date = excluded.to_date, subject = excluded.subject, ' +
            'text_body = excluded.text_body, html_body = excluded.html_body',
        )
        .run(
          accountId,
          v.isEnabled ? 1 : 0,
          v.fromDate?.getTime() ?? null,
          v.toDate?.getTime() ?? null,
          v.subject,
          v.textBody,
          v.htmlBody,
        );
      // A new absence (switched on again) answers everyone again; edits while on keep the record, so a
      // corrected subject does not answer the same senders twice (RFC 3834 2 leaves the period to us).
      if (v.isEnabled && !was) {
        this.ctx.prepare('DELETE FROM vacation_replies WHERE account_id = ?').run(accountId);
      }
      // The singleton has no row id of its own; 0 stands for it in the change log.
      note(accountId, 'VacationResponse', 0, ChangeKind.Updated);
    });
  }

  claimVacationReply(accountId: number, sender: string, now: Date, since: Date): boolean {
    return this.ctx.write(() => {
      const last = this.ctx
        .prepare<[number, string], { sent_at: number }>(
          'SELECT sent_at FROM vacation_replies WHERE account_id = ? AND sender = ?',
        )
        .get(accountId, sender);
      if (last && last.sent_at > since.getTime()) return false;
      this.ctx
        .prepare(
          'INSERT INTO vacation_replies (account_id, sender, sent_at) VALUES (?, ?, ?) ' +
            'ON CONFLICT (account_id, sender) DO UPDATE SET sent_at = excluded.sent_at',
        )
        .run(accountId, sender, now.getTime());
      return true;
    });
  }
}
