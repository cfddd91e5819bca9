// The per-account JMAP change log in SQLite (RFC 8620 5.2 /changes): recorded in each write's transaction, read by /changes.
import { JMAP_CHANGE_LOG } from '../../config/limits.js';
import { JMAP_TYPES, type ChangesResult, type JmapStates, type JmapType } from '../jmap-store.js';
import { encodeId, type ObjectKind } from '../object-ids.js';
import type { Prepare } from './statements.js';

/*
 * Tables (schema.ts migration 10):
 *   jmap_accounts(account_id, modseq, lowest)       the account's change counter; states <= lowest are pruned
 *   jmap_type_states(account_id, type, modseq)      each type's state = the counter at its last change
 *   jmap_changes(account_id, modseq, type, object_id, kind)   one row per changed object, its own modseq
 * Every row has its own modseq (not one per transaction), so /changes can stop after any row and hand
 * out that row's modseq as an intermediate state (RFC 8620 5.2 maxChanges / hasMoreChanges).
 * A state string is the decimal counter: any value is a point in the account's history, valid for every
 * type. Types are stored as their index in JMAP_TYPES.
 */

export const enum ChangeKind {
  Created = 0,
  Updated = 1,
  Destroyed = 2,
  /** Updated, but only its counts (Mailbox totalEmails, unreadEmails, totalThreads, unreadThreads). */
  Counts = 3,
}

const TYPE_CODE = new Map<JmapType, number>(JMAP_TYPES.map((t, i) => [t, i]));
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
        'INSERT INTO jmap_changes (account_id, modseq, type, object_id, kind) VALUES (?, ?, ?, ?, ?)',
      );
      const last = new Map<JmapType, number>();
      for (const c of changes.values()) {
        modseq++;
        insert.run(accountId, modseq, TYPE_CODE.get(c.type), c.id, c.kind);
        last.set(c.type, modseq);
      }
      const setType = prepare(
        'INSERT INTO jmap_type_states (account_id, type, modseq) VALUES (?, ?, ?) ' +
          'ON CONFLICT (account_id, type) DO UPDATE SET modseq = excluded.modseq',
      );
      for (const [type, m] of last) setType.run(accountId, TYPE_CODE.get(type), m);
      let lowest = before.lowest;
      const { keepRows, pruneEvery } = limits;
      if (Math.floor(modseq / pruneEvery) !== Math.floor(before.modseq / pruneEvery) && modseq > keepRows) {
        // Bounded log: older states then get cannotCalculateChanges (RFC 8620 5.2) and clients resync.
        const floor = modseq - keepRows;
        if (floor > lowest) {
          prepare('DELETE FROM jmap_changes WHERE account_id = ? AND modseq <= ?').run(accountId, floor);
          lowest = floor;
        }
      }
      prepare(
        'INSERT INTO jmap_accounts (account_id, modseq, lowest) VALUES (?, ?, ?) ' +
          'ON CONFLICT (account_id) DO UPDATE SET modseq = excluded.modseq, lowest = excluded.lowest',
      ).run(accountId, modseq, lowest);
      out.set(accountId, readStates(prepare, accountId));
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
  const states = Object.fromEntries(JMAP_TYPES.map((t) => [t, '0'])) as JmapStates;
  const rows = prepare<[number], { type: number; modseq: number }>(
    'SELECT type, modseq FROM jmap_type_states WHERE account_id = ?',
  ).all(accountId);
  for (const r of rows) {
    const type = JMAP_TYPES[r.type];
    if (type) states[type] = String(r.modseq);
  }
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
  const rows = prepare<[number, number, number], [number, number, number]>(
    'SELECT modseq, object_id, kind FROM jmap_changes WHERE account_id = ? AND type = ? AND modseq > ? ORDER BY modseq',
  )
    .raw(true)
    .iterate(accountId, TYPE_CODE.get(type) as number, since);
  // Per object: how its first change and its latest change look from `since`.
  const seen = new Map<number, { created: boolean; destroyed: boolean; full: boolean }>();
  let newState = current;
  let hasMoreChanges = false;
  for (const [modseq, id, kind] of rows) {
    let o = seen.get(id);
    if (!o) {
      if (maxChanges !== null && seen.size >= maxChanges) {
        hasMoreChanges = true;
        break;
      }
      seen.set(id, (o = { created: kind === ChangeKind.Created, destroyed: false, full: false }));
    }
    if (kind === ChangeKind.Destroyed) o.destroyed = true;
    if (kind === ChangeKind.Updated) o.full = true;
    newState = String(modseq);
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
