// SqliteTraceStore: message timelines in `message_events` and admin actions in `admin_actions` (schema.ts); the insert helpers the delivery and queue transactions call.
import type {
  AdminAction,
  AdminActionRow,
  AttemptTrace,
  ReceivedTrace,
  TraceEvent,
  TraceKind,
  TraceStore,
} from '../trace-store.js';
import type { SqliteContext } from './context.js';
import type { Prepare } from './statements.js';

const INSERT_EVENT =
  'INSERT INTO message_events (at, queue_id, kind, message_id, detail) VALUES (?, ?, ?, ?, ?)';

/** Rows deleted per transaction by purge(): each is short, so deliveries never wait long behind it. */
const PURGE_BATCH = 5_000;

/** How many queue ids a Message-ID may lead to (a Message-ID is the sender's word, not unique). */
const MAX_MESSAGES_PER_ID = 20;

/** A `received` row's detail: every field of the trace but messageId and about (a new one must be listed), and the facts. */
type ReceivedDetail = Record<
  Exclude<keyof ReceivedTrace, 'messageId' | 'about'> | 'from' | 'size' | 'stored' | 'queued',
  unknown
>;

/**
 * The `received` event of a delivery, inside its transaction (deliver.ts writeDelivery): so a message
 * acknowledged with 250 always has its timeline start, and one rolled back has none.
 */
export function insertReceivedEvent(
  prepare: Prepare,
  queueId: string,
  at: Date,
  trace: ReceivedTrace,
  facts: {
    from: string;
    size: number;
    stored: { accountId: number; mailboxId: number; uid: number }[];
    queued: string[];
  },
): void {
  const { messageId, about } = trace;
  // The trace's own fields but messageId and about (a column and the `dsn` row below), then the facts: named
  // one by one, as JSON.stringify writes them (undefined ones are left out). A rest pattern and a spread
  // (`{ ...rest, ...}`) made the same object through V8's generic property copy: ~5 us more per delivery.
  const detail: ReceivedDetail = {
    via: trace.via,
    client: trace.client,
    account: trace.account,
    auth: trace.auth,
    recipients: trace.recipients,
    from: facts.from,
    size: facts.size,
    stored: facts.stored,
    queued: facts.queued,
  };
  prepare(INSERT_EVENT).run(at.getTime(), queueId, 'received', messageId, JSON.stringify(detail));
  // A DSN: the message it reports on gets a `dsn` step pointing here, in the same commit.
  if (about) {
    prepare(INSERT_EVENT).run(
      at.getTime(),
      about.queueId,
      'dsn',
      null,
      JSON.stringify({ dsnQueueId: queueId, actions: about.actions, to: trace.recipients[0] ?? null }),
    );
  }
}

/** One outgoing attempt, inside the queue's result transaction (queue-store.ts recordResultsMany). */
export function insertAttemptEvent(prepare: Prepare, queueId: string, at: Date, trace: AttemptTrace): void {
  prepare(INSERT_EVENT).run(at.getTime(), queueId, 'attempt', null, JSON.stringify(trace));
}

interface EventRow {
  at: number;
  queue_id: string;
  kind: TraceKind;
  message_id: string | null;
  detail: string;
}

interface AdminRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  detail: string | null;
}

function parseDetail(text: string | null): Record<string, unknown> {
  if (text === null) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {}; // a damaged row still shows its time and kind
  }
}

export class SqliteTraceStore implements TraceStore {
  constructor(private readonly ctx: SqliteContext) {}

  events(id: string): TraceEvent[] {
    const { prepare } = this.ctx;
    const byQueue = prepare<[string], EventRow>(
      'SELECT at, queue_id, kind, message_id, detail FROM message_events WHERE queue_id = ? ORDER BY at, id',
    );
    let queueIds = byQueue.all(id).length > 0 ? [id] : [];
    if (queueIds.length === 0) {
      const bare = id.trim().replace(/^<|>$/g, '');
      queueIds = prepare<[string, number], { queue_id: string }>(
        'SELECT queue_id FROM message_events WHERE message_id = ? ORDER BY id LIMIT ?',
      )
        .all(`<${bare}>`, MAX_MESSAGES_PER_ID)
        .map((r) => r.queue_id);
    }
    const rows: EventRow[] = [];
    const seen = new Set<string>();
    // A DSN's own timeline follows its `dsn` step (it is a message of ours, with its own attempts).
    const pending = [...queueIds];
    while (pending.length > 0 && seen.size < MAX_MESSAGES_PER_ID) {
      const queueId = pending.shift()!;
      if (seen.has(queueId)) continue;
      seen.add(queueId);
      for (const row of byQueue.all(queueId)) {
        rows.push(row);
        const dsnQueueId = row.kind === 'dsn' ? parseDetail(row.detail).dsnQueueId : undefined;
        if (typeof dsnQueueId === 'string') pending.push(dsnQueueId);
      }
    }
    return rows.map((r) => ({
      at: new Date(r.at),
      queueId: r.queue_id,
      kind: r.kind,
      messageId: r.message_id,
      detail: parseDetail(r.detail),
    }));
  }

  recordAdmin(action: AdminAction, queueId?: string): void {
    const { ctx } = this;
    ctx.write(() => {
      const detail = action.detail ? JSON.stringify(action.detail) : null;
      ctx
        .prepare('INSERT INTO admin_actions (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)')
        .run(action.at.getTime(), action.actor, action.action, action.target, detail);
      if (queueId !== undefined) {
        const step = { action: action.action, actor: action.actor, ...(action.detail ?? {}) };
        ctx.prepare(INSERT_EVENT).run(action.at.getTime(), queueId, 'admin', null, JSON.stringify(step));
      }
    });
  }

  adminActionsAfter(afterId: number, limit: number): AdminActionRow[] {
    return this.ctx
      .prepare<[number, number], AdminRow>(
        'SELECT id, at, actor, action, target, detail FROM admin_actions WHERE id > ? ORDER BY id LIMIT ?',
      )
      .all(afterId, limit)
      .map((r) => ({
        id: r.id,
        at: new Date(r.at),
        actor: r.actor,
        action: r.action,
        target: r.target,
        ...(r.detail !== null ? { detail: parseDetail(r.detail) } : {}),
      }));
  }

  lastAdminActionId(): number {
    return (
      this.ctx.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM admin_actions').get()?.id ?? 0
    );
  }

  async purge(traceBefore: Date | null, adminBefore: Date | null): Promise<number> {
    let removed = 0;
    if (traceBefore) removed += await this.purgeTable('message_events', traceBefore);
    if (adminBefore) removed += await this.purgeTable('admin_actions', adminBefore);
    return removed;
  }

  /**
   * Rows are appended in time order, so everything below the first id still young enough goes: found by
   * walking the ids from the oldest (no index on `at` to keep up on every delivery), deleted in short batches.
   */
  private async purgeTable(table: 'message_events' | 'admin_actions', before: Date): Promise<number> {
    const { ctx } = this;
    const keep = ctx
      .prepare<[number], { id: number }>(`SELECT id FROM ${table} WHERE at >= ? ORDER BY id LIMIT 1`)
      .get(before.getTime());
    const limit =
      keep?.id ??
      ctx.prepare<[], { id: number | null }>(`SELECT max(id) + 1 AS id FROM ${table}`).get()?.id ??
      0;
    const remove = ctx.prepare<[number, number]>(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE id < ? ORDER BY id LIMIT ?)`,
    );
    let removed = 0;
    for (;;) {
      const { changes } = ctx.writeLazy(() => remove.run(limit, PURGE_BATCH)).result;
      removed += changes;
      if (changes < PURGE_BATCH) return removed;
      // Other work (deliveries, sessions) runs between batches.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
