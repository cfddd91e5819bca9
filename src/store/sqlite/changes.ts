// The per-account JMAP change log in SQLite (RFC 8620 5.2 /changes): recorded in each write's transaction, read by /changes.
import { JMAP_CHANGE_LOG } from '../../config/limits.js';
import { JMAP_TYPES, type ChangesResult, type JmapStates, type JmapType } from '../jmap-store.js';
import { encodeId, type ObjectKind } from '../object-ids.js';
import type { Prepare } from './statements.js';

/*
 * Tables (schema.ts migrations 11 and 14):
 *   jmap_accounts(account_id, modseq, lowest, <type>_state...)   the account's change counter; states <= lowest
 *                                                   are pruned; each type's state = the counter at its last change
 *   jmap_changes(account_id, modseq, type, object_id, kind, count)   a run of `count` changed objects of one
 *                                                   type and kind: ids object_id .. object_id+count-1, each
 *                                                   with its own modseq, modseq-count+1 .. modseq (the row's
 *                                                   modseq is its run's last)
 * Every change has its own modseq (not one per transaction), so /changes can stop after any change and hand
 * out its modseq as an intermediate state (RFC 8620 5.2 maxChanges / hasMoreChanges). A state string is the
 * decimal counter: any value is a point in the account's history, valid for every type. Types are stored as
 * their index in JMAP_TYPES.
 *
 * Why runs and state columns (migration 18): a group commit of 20 deliveries creates 20 Emails and 20
 * Threads with consecutive ids; as runs they are 2 rows instead of 40, and the states are one row
 * written (and read back) with one statement instead of a row per type. That was a measurable part of
 * what issue 9's bookkeeping cost every SMTP delivery (bench/store-deliver.ts).
 */

export const enum ChangeKind {
  Created = 0,
  Updated = 1,
  Destroyed = 2,
  /** Updated, but only its counts (Mailbox totalEmails, unreadEmails, totalThreads, unreadThreads). */
  Counts = 3,
}

const TYPE_CODE = new Map<JmapType, number>(JMAP_TYPES.map((t, i) => [t, i]));
/** jmap_accounts' state column of each type, in JMAP_TYPES order (schema.ts migration 18). */
const STATE_COLUMN: Record<JmapType, string> = {
  Email: 'email_state',
  Mailbox: 'mailbox_state',
  Thread: 'thread_state',
  Identity: 'identity_state',
  EmailSubmission: 'submission_state',
  VacationResponse: 'vacation_state',
};
const STATE_COLUMNS = JMAP_TYPES.map((t) => STATE_COLUMN[t]);
/** One statement writes the counter and the changed types' states (0: unchanged) and reads every state back. */
const WRITE_STATES_SQL =
  `INSERT INTO jmap_accounts (account_id, modseq, lowest, ${STATE_COLUMNS.join(', ')}) ` +
  `VALUES (?, ?, ?, ${STATE_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (account_id) DO UPDATE SET ` +
  'modseq = excluded.modseq, lowest = excluded.lowest, ' +
  STATE_COLUMNS.map((c) => `${c} = CASE WHEN excluded.${c} > 0 THEN excluded.${c} ELSE ${c} END`).join(', ') +
  ` RETURNING ${STATE_COLUMNS.join(', ')}`;
const READ_STATES_SQL = `SELECT ${STATE_COLUMNS.join(', ')} FROM jmap_accounts WHERE account_id = ?`;
const ID_KIND: Partial<Record<JmapType, ObjectKind>> = {
  Email: 'email',
  Thread: 'thread',
  Mailbox: 'mailbox',
  Identity: 'identity',
  EmailSubmission: 'submission',
};

/** The id string of a logged object (types without an object-ids kind log their own numeric ids). */
export function logObjectId(type: JmapType, n: number): string {
  const kind = ID_KIND[type];
  return kind ? encodeId(kind, n) : String(n);
}

/**
 * Collects the changes of one transaction and writes them at its end (flush). Changes to one object
 * within the transaction fold into one: created+updated is created, updated+destroyed is destroyed, and
 * created+destroyed is nothing (nobody can have seen it).
 */
export class ChangeRecorder {
  private readonly byAccount = new Map<
    number,
    Map<string, { type: JmapType; id: number; kind: ChangeKind }>
  >();

  note(accountId: number, type: JmapType, id: number, kind: ChangeKind): void {
    let changes = this.byAccount.get(accountId);
    if (!changes) this.byAccount.set(accountId, (changes = new Map()));
    const key = `${type}:${id}`;
    const prior = changes.get(key);
    if (!prior) {
      changes.set(key, { type, id, kind });
      return;
    }
    if (prior.kind === ChangeKind.Created) {
      if (kind === ChangeKind.Destroyed) changes.delete(key);
      return;
    }
    if (kind === ChangeKind.Destroyed || kind === ChangeKind.Updated) prior.kind = kind;
  }

  get empty(): boolean {
    return this.byAccount.size === 0;
  }

  /**
   * Writes the collected rows (inside the caller's transaction) and returns the new states of the
   * accounts touched, for the `changes` event after the commit. The recorder is empty afterwards.
   * Within a transaction the order of the changes is free (no reader sees between them), so they are
   * sorted by type, kind and id, which makes consecutive ids one run row.
   */
  flush(
    prepare: Prepare,
    limits: { keepRows: number; pruneEvery: number } = JMAP_CHANGE_LOG,
  ): Map<number, JmapStates> {
    const out = new Map<number, JmapStates>();
    for (const [accountId, changes] of this.byAccount) {
      if (changes.size === 0) continue;
      const before = counterRow(prepare, accountId);
      let modseq = before.modseq;
      const insert = prepare(
        'INSERT INTO jmap_changes (account_id, modseq, type, object_id, kind, count) VALUES (?, ?, ?, ?, ?, ?)',
      );
      const sorted = [...changes.values()]
        .map((c) => ({ type: TYPE_CODE.get(c.type) as number, id: c.id, kind: c.kind as number }))
        .sort((a, b) => a.type - b.type || a.kind - b.kind || a.id - b.id);
      const last: number[] = JMAP_TYPES.map(() => 0);
      for (let i = 0; i < sorted.length;) {
        const first = sorted[i] as { type: number; id: number; kind: number };
        let n = 1;
        for (;;) {
          const next = sorted[i + n];
          if (!next || next.type !== first.type || next.kind !== first.kind || next.id !== first.id + n)
            break;
          n++;
        }
        modseq += n;
        insert.run(accountId, modseq, first.type, first.id, first.kind, n);
        last[first.type] = modseq;
        i += n;
      }
      let lowest = before.lowest;
      const { keepRows, pruneEvery } = limits;
      if (Math.floor(modseq / pruneEvery) !== Math.floor(before.modseq / pruneEvery) && modseq > keepRows) {
        // Bounded log: older states then get cannotCalculateChanges (RFC 8620 5.2) and clients resync.
        // A run that ends above the floor stays whole; readChanges skips its changes at or below a state.
        const floor = modseq - keepRows;
        if (floor > lowest) {
          prepare('DELETE FROM jmap_changes WHERE account_id = ? AND modseq <= ?').run(accountId, floor);
          lowest = floor;
        }
      }
      const row = prepare<(number | null)[], Record<string, number>>(WRITE_STATES_SQL).get(
        accountId,
        modseq,
        lowest,
        ...last,
      );
      out.set(accountId, statesOfRow(row));
    }
    this.byAccount.clear();
    return out;
  }
}

function counterRow(prepare: Prepare, accountId: number): { modseq: number; lowest: number } {
  return (
    prepare<[number], { modseq: number; lowest: number }>(
      'SELECT modseq, lowest FROM jmap_accounts WHERE account_id = ?',
    ).get(accountId) ?? { modseq: 0, lowest: 0 }
  );
}

/** The account's change counter (0 before its first change). */
export function changeCounter(prepare: Prepare, accountId: number): number {
  return counterRow(prepare, accountId).modseq;
}

/** Every type's state; a type that never changed has the state "0". */
export function readStates(prepare: Prepare, accountId: number): JmapStates {
  const row = prepare<[number], Record<string, number>>(READ_STATES_SQL).get(accountId);
  return statesOfRow(row);
}

/** States from a jmap_accounts row's state columns (no row: every type "0"). */
function statesOfRow(row: Record<string, number> | undefined): JmapStates {
  const states = {} as JmapStates;
  JMAP_TYPES.forEach((t, i) => {
    states[t] = String(row?.[STATE_COLUMNS[i] as string] ?? 0);
  });
  return states;
}

/** A state string as the counter value it stands for, or null when it is not one. */
function parseState(state: string): number | null {
  if (!/^(0|[1-9][0-9]{0,14})$/.test(state)) return null;
  return Number(state);
}

/** RFC 8620 5.2 /changes for one type (jmap-store.ts JmapStore.changes). */
export function readChanges(
  prepare: Prepare,
  accountId: number,
  type: JmapType,
  sinceState: string,
  maxChanges: number | null,
): ChangesResult {
  const since = parseState(sinceState);
  const current = readStates(prepare, accountId)[type];
  const empty = (newState: string): ChangesResult => ({
    ok: true,
    oldState: sinceState,
    newState,
    hasMoreChanges: false,
    created: [],
    updated: [],
    destroyed: [],
    countsOnly: false,
  });
  if (since === null) return { ok: false, error: 'cannotCalculateChanges' };
  // Nothing of this type changed since: answerable even when older rows were pruned.
  if (since === Number(current)) return empty(current);
  const counter = counterRow(prepare, accountId);
  if (since > counter.modseq || since < counter.lowest) return { ok: false, error: 'cannotCalculateChanges' };
  // Rows whose run ends after `since` (a run may start at or before it: those changes are skipped).
  const rows = prepare<[number, number, number], [number, number, number, number]>(
    'SELECT modseq, object_id, kind, count FROM jmap_changes WHERE account_id = ? AND type = ? AND modseq > ? ORDER BY modseq',
  )
    .raw(true)
    .iterate(accountId, TYPE_CODE.get(type) as number, since);
  // Per object: how its first change and its latest change look from `since`.
  const seen = new Map<number, { created: boolean; destroyed: boolean; full: boolean }>();
  let newState = current;
  let hasMoreChanges = false;
  scan: for (const [end, firstId, kind, count] of rows) {
    for (let k = Math.max(0, since - (end - count + 1) + 1); k < count; k++) {
      const id = firstId + k;
      let o = seen.get(id);
      if (!o) {
        if (maxChanges !== null && seen.size >= maxChanges) {
          hasMoreChanges = true;
          break scan;
        }
        seen.set(id, (o = { created: kind === ChangeKind.Created, destroyed: false, full: false }));
      }
      if (kind === ChangeKind.Destroyed) o.destroyed = true;
      if (kind === ChangeKind.Updated) o.full = true;
      newState = String(end - count + 1 + k);
    }
  }
  if (!hasMoreChanges) newState = current;
  const result = empty(newState);
  if (result.ok) {
    result.hasMoreChanges = hasMoreChanges;
    let countsOnly = true;
    for (const [id, o] of seen) {
      const s = logObjectId(type, id);
      if (o.created) {
        if (!o.destroyed) result.created.push(s);
      } else if (o.destroyed) result.destroyed.push(s);
      else {
        result.updated.push(s);
        if (o.full) countsOnly = false;
      }
    }
    result.countsOnly = result.updated.length > 0 && countsOnly;
  }
  return result;
}
