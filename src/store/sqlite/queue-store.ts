// SqliteQueueStore: the QueueStore operations on the shared SQLite connection (the scheduler's rows).
import { MailroomError } from '../../errors.js';
import type { AttemptTrace } from '../trace-store.js';
import { insertAttemptEvent } from './trace-store.js';
import type {
  DsnDue,
  DueRecipient,
  OwedDsn,
  QueueStore,
  QueueSummary,
  RecipientUpdate,
  SentDsn,
} from '../queue-store.js';
import type { QueueEntry, QueueRecipient } from '../store.js';
import type { SqliteContext } from './context.js';
import { listQueueEntries } from './queries.js';
import { emitChanges } from './change-events.js';
import { ChangeRecorder } from './changes.js';
import { noteQueueResult } from './sending-store.js';

interface DueRow {
  queue_id: string;
  address: string;
  orcpt: string | null;
  notify: string | null;
  state: 'pending' | 'deferred';
  attempts: number;
  last_error: string | null;
  sender: string;
  created_at: number;
  size: number;
  dsn_envid: string | null;
  dsn_ret: string | null;
  smtputf8: number;
  body_type: string | null;
  delay_warned_at: number | null;
  require_tls: number;
}

// Written exactly as the WHERE of the partial index queue_recipients_waiting (schema.ts, migration 4):
// SQLite uses a partial index only when the query repeats its condition.
const WAITING = "state IN ('pending', 'deferred')";

/** The scheduler's two queries (exported for the query-plan test: they must stay index range scans). */
export const DUE_SQL =
  'SELECT r.queue_id, r.address, r.orcpt, r.notify, r.state, r.attempts, r.last_error, q.sender, ' +
  'q.created_at, q.size, q.dsn_envid, q.dsn_ret, q.smtputf8, q.body_type, r.delay_warned_at, q.require_tls ' +
  `FROM queue_recipients r JOIN queue q ON q.id = r.queue_id WHERE r.${WAITING} ` +
  'AND r.next_attempt_at <= ? ORDER BY r.next_attempt_at, r.queue_id LIMIT ?';
export const NEXT_DUE_SQL = `SELECT MIN(next_attempt_at) AS t FROM queue_recipients WHERE ${WAITING} AND next_attempt_at > ?`;

export class SqliteQueueStore implements QueueStore {
  constructor(private readonly ctx: SqliteContext) {}

  list(): QueueEntry[] {
    return listQueueEntries(this.ctx.prepare);
  }

  get(queueId: string): QueueEntry | null {
    return listQueueEntries(this.ctx.prepare, queueId)[0] ?? null;
  }

  due(now: Date, limit: number): DueRecipient[] {
    const rows = this.ctx
      .prepare<[number, number], DueRow>(DUE_SQL)
      .all(now.getTime(), Math.max(0, Math.floor(limit)));
    return rows.map((r) => {
      const d: DueRecipient = {
        queueId: r.queue_id,
        address: r.address,
        state: r.state,
        attempts: r.attempts,
        lastError: r.last_error,
        sender: r.sender,
        createdAt: new Date(r.created_at),
        size: r.size,
        dsnEnvid: r.dsn_envid,
        dsnRet: r.dsn_ret === 'FULL' || r.dsn_ret === 'HDRS' ? r.dsn_ret : null,
        smtpUtf8: r.smtputf8 === 1,
        bodyType: r.body_type,
      };
      if (r.require_tls === 1) d.requireTls = true;
      if (r.orcpt !== null) d.orcpt = r.orcpt;
      if (r.notify !== null) d.notify = r.notify.split(',');
      if (r.delay_warned_at !== null) d.delayWarnedAt = new Date(r.delay_warned_at);
      return d;
    });
  }

  summary(): QueueSummary {
    // For the metrics scrape: the entries table is small (sent mail leaves it); waiting recipients use the due index.
    const q = this.ctx
      .prepare<[], { n: number; oldest: number | null }>(
        'SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM queue',
      )
      .get();
    const r = this.ctx
      .prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM queue_recipients WHERE ${WAITING}`)
      .get();
    return {
      messages: q?.n ?? 0,
      recipients: r?.n ?? 0,
      oldest: q?.oldest == null ? null : new Date(q.oldest),
    };
  }

  nextDueAfter(now: Date): Date | null {
    const row = this.ctx.prepare<[number], { t: number | null }>(NEXT_DUE_SQL).get(now.getTime());
    return row?.t == null ? null : new Date(row.t);
  }

  claim(claims: readonly { queueId: string; address: string; nextAttemptAt: Date }[]): number {
    if (claims.length === 0) return 0;
    const update = this.ctx.prepare(
      `UPDATE queue_recipients SET next_attempt_at = ? WHERE queue_id = ? AND address = ? AND ${WAITING}`,
    );
    // Lazy: if a power loss undid this claim, the attempt would only be retried sooner.
    return this.ctx.writeLazy(() => {
      let n = 0;
      for (const c of claims) n += update.run(c.nextAttemptAt.getTime(), c.queueId, c.address).changes;
      return n;
    }).result;
  }

  async readMessage(queueId: string): Promise<Buffer> {
    const row = this.ctx
      .prepare<[string], { head: Buffer; body: Buffer | null; file: string | null; off: number }>(
        'SELECT b.head, b.body, b.file, q.blob_offset AS off FROM queue q JOIN blobs b ON b.id = q.blob_id WHERE q.id = ?',
      )
      .get(queueId);
    if (!row) throw new MailroomError('NO_SUCH_QUEUE_ENTRY', `no such queue entry: ${queueId}`);
    const body = row.body ?? (row.file !== null ? await this.ctx.blobs.read(row.file) : Buffer.alloc(0));
    return Buffer.concat([row.head.subarray(row.off), body]);
  }

  recordResults(queueId: string, updates: readonly RecipientUpdate[]): { retired: boolean } {
    return this.recordResultsMany([{ queueId, updates }])[0] ?? { retired: false };
  }

  recordResultsMany(
    batch: readonly { queueId: string; updates: readonly RecipientUpdate[]; trace?: AttemptTrace }[],
  ): { retired: boolean }[] {
    if (batch.length === 0) return [];
    const update = this.ctx.prepare(
      'UPDATE queue_recipients SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, ' +
        // A DSN already owed (from an earlier result not yet sent) is kept unless this one replaces it.
        'last_attempt_at = ?, dsn_json = COALESCE(?, dsn_json), delay_warned_at = COALESCE(delay_warned_at, ?) ' +
        "WHERE queue_id = ? AND address = ? AND state IN ('pending', 'deferred')",
    );
    // Lazy: a result lost to a power failure only means the recipient is tried again (a duplicate at
    // worst, the window issue 3 allows); the retired body's files go only once the retirement is durable.
    // One transaction for the whole batch: under relay load a BEGIN/COMMIT per message cost more than
    // its UPDATEs (measured with bench/relay.ts: recordResults was 11% of the server's CPU).
    const recorder = new ChangeRecorder();
    const { result, durable } = this.ctx.writeLazy(() => {
      const files: string[] = [];
      const retired = batch.map(({ queueId, updates, trace }) => {
        if (trace)
          insertAttemptEvent(this.ctx.prepare, queueId, updates[0]?.attemptAt ?? this.ctx.clock(), trace);
        for (const u of updates) {
          // A JMAP submission's deliveryStatus follows its recipients (RFC 8621 7), in this transaction.
          noteQueueResult(this.ctx.prepare, recorder, queueId, u.address, u.state, u.lastError);
          update.run(
            u.state,
            u.attempts,
            u.nextAttemptAt?.getTime() ?? null,
            u.lastError,
            u.attemptAt.getTime(),
            u.dsn ? JSON.stringify(u.dsn) : null,
            // Owing the delay DSN is what marks the row warned: both in this commit, never one alone.
            u.dsn?.action === 'delayed' ? u.attemptAt.getTime() : null,
            queueId,
            u.address,
          );
        }
        const r = this.retireIfDone(queueId);
        files.push(...r.files);
        return { retired: r.retired };
      });
      return { retired, files, states: recorder.flush(this.ctx.prepare) };
    });
    emitChanges(this.ctx, result.states);
    if (result.files.length > 0)
      void durable.then(() => this.ctx.blobs.remove(result.files)).catch(() => undefined);
    return result.retired;
  }

  dsnsDue(limit: number): DsnDue[] {
    const ids = this.ctx
      .prepare<[number], { queue_id: string }>(
        'SELECT DISTINCT queue_id FROM queue_recipients WHERE dsn_json IS NOT NULL ORDER BY queue_id LIMIT ?',
      )
      .all(Math.max(0, Math.floor(limit)));
    const out: DsnDue[] = [];
    const rows = this.ctx.prepare<
      [string],
      { address: string; orcpt: string | null; dsn_json: string; state: QueueRecipient['state'] }
    >(
      'SELECT address, orcpt, dsn_json, state FROM queue_recipients WHERE queue_id = ? AND dsn_json IS NOT NULL ORDER BY rowid',
    );
    const flag = this.ctx.prepare<[string], { smtputf8: number; require_tls: number }>(
      'SELECT smtputf8, require_tls FROM queue WHERE id = ?',
    );
    for (const { queue_id } of ids) {
      const entry = this.get(queue_id);
      if (!entry) continue;
      const recipients: DsnDue['recipients'] = [];
      for (const r of rows.all(queue_id)) {
        const dsn = parseOwed(r.dsn_json);
        if (!dsn) continue;
        recipients.push(
          r.orcpt !== null
            ? { address: r.address, orcpt: r.orcpt, dsn, state: r.state }
            : { address: r.address, dsn, state: r.state },
        );
      }
      const flags = flag.get(queue_id);
      out.push({
        entry: {
          ...entry,
          smtpUtf8: flags?.smtputf8 === 1,
          ...(flags?.require_tls === 1 ? { requireTls: true } : {}),
        },
        recipients,
      });
    }
    return out;
  }

  dsnsSent(queueId: string, sent: readonly (string | SentDsn)[]): { retired: boolean } {
    const clear = this.ctx.prepare(
      'UPDATE queue_recipients SET dsn_json = NULL WHERE queue_id = ? AND address = ?',
    );
    const owed = this.ctx.prepare<[string, string], { dsn_json: string | null }>(
      'SELECT dsn_json FROM queue_recipients WHERE queue_id = ? AND address = ?',
    );
    // Lazy: the DSNs themselves are already durable; losing this only sends them again.
    const { result, durable } = this.ctx.writeLazy(() => {
      for (const s of sent) {
        if (typeof s === 'string') {
          clear.run(queueId, s);
          continue;
        }
        // Compared here, not in SQL on the JSON text: portable, and a damaged row is cleared too.
        const json = owed.get(queueId, s.address)?.dsn_json;
        if (json == null) continue;
        const now = parseOwed(json);
        if (now === null || now.action === s.action) clear.run(queueId, s.address);
      }
      return this.retireIfDone(queueId);
    });
    void durable.then(() => this.ctx.blobs.remove(result.files)).catch(() => undefined);
    return { retired: result.retired };
  }

  flush(now: Date): number {
    const n = this.ctx.write(
      () =>
        this.ctx
          .prepare(`UPDATE queue_recipients SET next_attempt_at = ? WHERE ${WAITING} AND next_attempt_at > ?`)
          .run(now.getTime(), now.getTime()).changes,
    );
    if (n > 0) this.ctx.emit('queue', { queueId: '*' });
    return n;
  }

  remove(queueId: string): boolean {
    const result = this.ctx.write(() => {
      const row = this.ctx
        .prepare<[string], { blob_id: number }>('SELECT blob_id FROM queue WHERE id = ?')
        .get(queueId);
      if (!row) return null;
      this.ctx.prepare('DELETE FROM queue WHERE id = ?').run(queueId); // recipients cascade
      return this.collectBlob(row.blob_id);
    });
    if (result === null) return false;
    void this.ctx.blobs.remove(result);
    return true;
  }

  changeToken(): number {
    return this.ctx.db.pragma('data_version', { simple: true }) as number;
  }

  /** Inside a write: deletes the entry when every recipient is final and no DSN is owed. */
  private retireIfDone(queueId: string): { retired: boolean; files: string[] } {
    const open = this.ctx
      .prepare<[string], { n: number }>(
        `SELECT COUNT(*) AS n FROM queue_recipients WHERE queue_id = ? AND (${WAITING} OR dsn_json IS NOT NULL)`,
      )
      .get(queueId);
    if ((open?.n ?? 0) > 0) return { retired: false, files: [] };
    const row = this.ctx
      .prepare<[string], { blob_id: number }>('SELECT blob_id FROM queue WHERE id = ?')
      .get(queueId);
    if (!row) return { retired: false, files: [] };
    this.ctx.prepare('DELETE FROM queue WHERE id = ?').run(queueId);
    return { retired: true, files: this.collectBlob(row.blob_id) };
  }

  /** Deletes a blob nothing references any more (local copies may still share it); returns files to unlink. */
  private collectBlob(blobId: number): string[] {
    const used = this.ctx
      .prepare<[number, number, number], { x: number }>(
        'SELECT 1 AS x FROM messages WHERE blob_id = ? UNION ALL SELECT 1 AS x FROM queue WHERE blob_id = ? ' +
          'UNION ALL SELECT 1 AS x FROM uploads WHERE blob_id = ? LIMIT 1',
      )
      .get(blobId, blobId, blobId);
    if (used) return [];
    const f = this.ctx
      .prepare<[number], { file: string | null }>('SELECT file FROM blobs WHERE id = ?')
      .get(blobId);
    this.ctx.prepare('DELETE FROM blobs WHERE id = ?').run(blobId);
    return f?.file ? [f.file] : [];
  }
}

function parseOwed(json: string): OwedDsn | null {
  try {
    const v = JSON.parse(json) as OwedDsn;
    return typeof v.action === 'string' && typeof v.status === 'string' ? v : null;
  } catch {
    return null; // a damaged row owes nothing we could state correctly
  }
}
