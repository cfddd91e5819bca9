// Mailbox (folder) operations of the SQLite MailStore: create with parents, delete, rename with children, subscriptions.
import { MailroomError } from '../../errors.js';
import type { MailboxRef } from '../mail-store.js';
import type { Mailbox } from '../store.js';
import type { JmapStates } from '../jmap-store.js';
import type { SqliteContext } from './context.js';
import { normalizeMailboxName } from './names.js';
import { collectGarbage } from './queries.js';
import { ChangeKind, ChangeRecorder } from './changes.js';
import { emitChanges } from './change-events.js';
import { emailRowAdded, emailRowRemoved } from './emails.js';

/** The hierarchy delimiter of stored names (the IMAP layer shows the same one, RFC 9051 6.3.9). */
const DELIMITER = '/';

interface MailboxRow {
  id: number;
  account_id: number;
  name: string;
  special_use: string | null;
  subscribed: number;
  sort_order: number | null;
  uidvalidity: number;
  uidnext: number;
  highest_modseq: number;
  message_count: number;
}

/** Whether the mailbox's name is in the subscriptions table (migration 9), not the old column. */
const SUBSCRIBED =
  'EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = m.account_id AND s.name = m.name) AS subscribed';

const COLUMNS =
  `m.id, m.account_id, m.name, m.special_use, ${SUBSCRIBED}, m.sort_order, m.uidvalidity, m.uidnext, m.highest_modseq, ` +
  '(SELECT COUNT(*) FROM mailbox_messages mm WHERE mm.mailbox_id = m.id) AS message_count';

function toMailboxRef(r: Omit<MailboxRow, 'message_count'>): MailboxRef {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    specialUse: r.special_use,
    subscribed: r.subscribed === 1,
    sortOrder: r.sort_order,
    uidValidity: r.uidvalidity,
    uidNext: r.uidnext,
    highestModseq: r.highest_modseq,
  };
}

function toMailbox(r: MailboxRow): Mailbox {
  return { ...toMailboxRef(r), messageCount: r.message_count };
}

/** An account's mailboxes without their message counts (no scan of their rows), INBOX first, then by name. */
export function listMailboxRefs(ctx: SqliteContext, accountId: number): MailboxRef[] {
  return ctx
    .prepare<[number], Omit<MailboxRow, 'message_count'>>(
      `SELECT m.id, m.account_id, m.name, m.special_use, ${SUBSCRIBED}, m.sort_order, m.uidvalidity, m.uidnext, m.highest_modseq ` +
        "FROM mailboxes m WHERE m.account_id = ? ORDER BY CASE WHEN m.name = 'INBOX' THEN 0 ELSE 1 END, m.name",
    )
    .all(accountId)
    .map(toMailboxRef);
}

/** An account's mailboxes, INBOX first, then by name. */
export function listMailboxes(ctx: SqliteContext, accountId: number): Mailbox[] {
  return ctx
    .prepare<[number], MailboxRow>(
      `SELECT ${COLUMNS} FROM mailboxes m WHERE m.account_id = ? ` +
        "ORDER BY CASE WHEN m.name = 'INBOX' THEN 0 ELSE 1 END, m.name",
    )
    .all(accountId)
    .map(toMailbox);
}

export function getMailbox(ctx: SqliteContext, accountId: number, name: string): Mailbox | null {
  const row = ctx
    .prepare<[number, string], MailboxRow>(
      `SELECT ${COLUMNS} FROM mailboxes m WHERE m.account_id = ? AND m.name = ?`,
    )
    .get(accountId, normalizeMailboxName(name));
  return row ? toMailbox(row) : null;
}

export function getMailboxById(ctx: SqliteContext, mailboxId: number): Mailbox | null {
  const row = ctx
    .prepare<[number], MailboxRow>(`SELECT ${COLUMNS} FROM mailboxes m WHERE m.id = ?`)
    .get(mailboxId);
  return row ? toMailbox(row) : null;
}

export function findMailbox(ctx: SqliteContext, accountId: number, name: string): MailboxRef | null {
  const r = ctx
    .prepare<[number, string], Omit<MailboxRow, 'message_count'>>(
      `SELECT m.id, m.account_id, m.name, m.special_use, ${SUBSCRIBED}, m.sort_order, m.uidvalidity, m.uidnext, m.highest_modseq ` +
        'FROM mailboxes m WHERE m.account_id = ? AND m.name = ?',
    )
    .get(accountId, normalizeMailboxName(name));
  return r ? toMailboxRef(r) : null;
}

export function hasChildren(ctx: SqliteContext, accountId: number, name: string): boolean {
  // Names below "a" are "a/..." : the range ["a/", "a0") under binary order ('0' follows '/'), so the
  // (account_id, name) index answers it, and no LIKE escaping of the name is needed.
  const below = ctx
    .prepare<[number, string, string], { one: number }>(
      'SELECT 1 AS one FROM mailboxes WHERE account_id = ? AND name > ? AND name < ? LIMIT 1',
    )
    .get(accountId, `${name}/`, `${name}0`);
  return below !== undefined;
}

function findId(ctx: SqliteContext, accountId: number, name: string): number | null {
  const row = ctx
    .prepare<[number, string], { id: number }>('SELECT id FROM mailboxes WHERE account_id = ? AND name = ?')
    .get(accountId, name);
  return row?.id ?? null;
}

/**
 * A new UIDVALIDITY (RFC 9051 2.3.1.1): the clock in seconds but always above the last one handed
 * out, from the same store-wide counter account creation uses, so a re-created name never gets an
 * old value. Runs inside a write transaction.
 */
function nextUidValidity(ctx: SqliteContext): number {
  const last = ctx
    .prepare<[], { value: number }>("SELECT value FROM counters WHERE name = 'uidvalidity'")
    .get();
  const value = Math.max(Math.floor(ctx.clock().getTime() / 1000), (last?.value ?? 0) + 1);
  if (value > 0xffffffff) throw new MailroomError('UIDVALIDITY_EXHAUSTED', 'UIDVALIDITY passed 2^32-1');
  ctx
    .prepare(
      "INSERT INTO counters (name, value) VALUES ('uidvalidity', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .run(value);
  return value;
}

function parentName(name: string): string | null {
  const i = name.lastIndexOf(DELIMITER);
  return i > 0 ? name.slice(0, i) : null;
}

/**
 * Inserts `name` (and any missing parent); returns its id. Inside a write transaction. It does not
 * subscribe: RFC 9051 6.3.4 CREATE does not, clients SUBSCRIBE themselves, and Dovecot and the imaptest
 * suite expect a CREATEd parent to show in LSUB only as the \Noselect parent of a subscribed child.
 * A new account's default folders are subscribed by directory.ts.
 */
export function insertWithParents(
  ctx: SqliteContext,
  accountId: number,
  name: string,
  specialUse: string | null,
  rec: ChangeRecorder | null = null,
): number {
  const parent = parentName(name);
  let parentId: number | null = null;
  if (parent !== null)
    parentId = findId(ctx, accountId, parent) ?? insertWithParents(ctx, accountId, parent, null, rec);
  const id = Number(
    ctx
      .prepare(
        'INSERT INTO mailboxes (account_id, name, parent_id, special_use, uidvalidity, uidnext, highest_modseq) ' +
          'VALUES (?, ?, ?, ?, ?, 1, 0)',
      )
      .run(accountId, name, parentId, specialUse, nextUidValidity(ctx)).lastInsertRowid,
  );
  rec?.note(accountId, 'Mailbox', id, ChangeKind.Created);
  return id;
}

export function createMailbox(
  ctx: SqliteContext,
  accountId: number,
  rawName: string,
  specialUse: string | null,
): Mailbox {
  const name = normalizeMailboxName(rawName);
  const { id, states } = ctx.write(() => {
    if (findId(ctx, accountId, name) !== null) {
      throw new MailroomError('MAILBOX_EXISTS', `mailbox ${name} already exists`);
    }
    const rec = new ChangeRecorder();
    const id = insertWithParents(ctx, accountId, name, specialUse, rec);
    return { id, states: rec.flush(ctx.prepare) };
  });
  ctx.emit('mailboxes', { accountId });
  emitChanges(ctx, states);
  return getMailboxById(ctx, id) as Mailbox;
}

export function deleteMailbox(ctx: SqliteContext, accountId: number, rawName: string): void {
  const name = normalizeMailboxName(rawName);
  if (name === 'INBOX') throw new MailroomError('CANNOT_DELETE_INBOX', 'INBOX cannot be deleted');
  const { files, states } = ctx.write(() => {
    const id = findId(ctx, accountId, name);
    if (id === null) throw new MailroomError('NO_SUCH_MAILBOX', `no such mailbox: ${name}`);
    // As Dovecot does: RFC 9051 6.3.5 would leave the children under a \Noselect name, which clients
    // handle badly; refusing keeps every listed name selectable.
    if (ctx.prepare('SELECT 1 FROM mailboxes WHERE parent_id = ? LIMIT 1').get(id) !== undefined) {
      throw new MailroomError('MAILBOX_HAS_CHILDREN', `mailbox ${name} has children; delete them first`);
    }
    const messageIds = ctx
      .prepare<[number], { message_id: number }>(
        'SELECT message_id FROM mailbox_messages WHERE mailbox_id = ?',
      )
      .all(id)
      .map((r) => r.message_id);
    ctx.prepare('DELETE FROM mailboxes WHERE id = ?').run(id); // rows and expunge records cascade
    const rec = new ChangeRecorder();
    for (const m of messageIds) emailRowRemoved(ctx.prepare, rec, accountId, id, m);
    rec.note(accountId, 'Mailbox', id, ChangeKind.Destroyed);
    return { files: collectGarbage(ctx.prepare, messageIds), states: rec.flush(ctx.prepare) };
  });
  void ctx.blobs.remove(files);
  ctx.emit('mailboxes', { accountId });
  emitChanges(ctx, states);
}

/**
 * RENAME. Subscriptions are names and stay as they were: RFC 9051 6.3.6 "renaming a mailbox doesn't
 * update subscription information on the original name"; the old name stays subscribed (and lists as
 * \NonExistent) and the new one is subscribed only if it already was. Parents RENAME has to create
 * are created as CREATE would (insertWithParents), so not subscribed.
 */
export function renameMailbox(ctx: SqliteContext, accountId: number, rawFrom: string, rawTo: string): void {
  const from = normalizeMailboxName(rawFrom);
  const to = normalizeMailboxName(rawTo);
  const rec = new ChangeRecorder();
  let states = new Map<number, JmapStates>();
  const inboxMove = ctx.write((): { inboxId: number; moved: number[] } | null => {
    const result = renameRows(ctx, rec, accountId, from, to);
    states = rec.flush(ctx.prepare);
    return result;
  });
  if (inboxMove && inboxMove.moved.length > 0) {
    ctx.emit('expunge', { accountId, mailboxId: inboxMove.inboxId, uids: inboxMove.moved });
  }
  ctx.emit('mailboxes', { accountId });
  emitChanges(ctx, states);
}

/** RENAME inside its transaction (renameMailbox); records the Mailbox and Email changes in `rec`. */
function renameRows(
  ctx: SqliteContext,
  rec: ChangeRecorder,
  accountId: number,
  from: string,
  to: string,
): { inboxId: number; moved: number[] } | null {
  {
    const id = findId(ctx, accountId, from);
    if (id === null) throw new MailroomError('NO_SUCH_MAILBOX', `no such mailbox: ${from}`);
    if (findId(ctx, accountId, to) !== null) {
      throw new MailroomError('MAILBOX_EXISTS', `mailbox ${to} already exists`);
    }
    if (to === from || to.startsWith(from + DELIMITER)) {
      throw new MailroomError('MAILBOX_EXISTS', `cannot rename ${from} into itself`);
    }
    const parent = parentName(to);
    const parentId =
      parent === null
        ? null
        : (findId(ctx, accountId, parent) ?? insertWithParents(ctx, accountId, parent, null, rec));
    if (from === 'INBOX') {
      // RFC 9051 6.3.6: renaming INBOX moves its messages to the new name; INBOX stays, empty, and
      // its inferiors are not renamed. Like every RENAME it leaves the subscriptions alone (below). The new mailbox continues INBOX's UIDs, so none is reused.
      const inbox = ctx
        .prepare<[number], { uidnext: number; highest_modseq: number }>(
          'SELECT uidnext, highest_modseq FROM mailboxes WHERE id = ?',
        )
        .get(id);
      const newId = Number(
        ctx
          .prepare(
            'INSERT INTO mailboxes (account_id, name, parent_id, special_use, uidvalidity, uidnext, highest_modseq) ' +
              'VALUES (?, ?, ?, NULL, ?, ?, ?)',
          )
          .run(accountId, to, parentId, nextUidValidity(ctx), inbox?.uidnext ?? 1, inbox?.highest_modseq ?? 0)
          .lastInsertRowid,
      );
      const movedRows = ctx
        .prepare<[number], { uid: number; message_id: number; received_at: number }>(
          'SELECT uid, message_id, received_at FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid',
        )
        .all(id);
      const moved = movedRows.map((r) => r.uid);
      ctx.prepare('UPDATE mailbox_messages SET mailbox_id = ? WHERE mailbox_id = ?').run(newId, id);
      rec.note(accountId, 'Mailbox', newId, ChangeKind.Created);
      // Every Email keeps its id and changes mailboxIds (INBOX -> the new mailbox).
      for (const r of movedRows) {
        emailRowAdded(ctx.prepare, rec, accountId, newId, r.message_id, r.received_at, null);
        emailRowRemoved(ctx.prepare, rec, accountId, id, r.message_id);
      }
      const modseq = (inbox?.highest_modseq ?? 0) + 1;
      ctx.prepare('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?').run(modseq, id);
      // For INBOX the moved messages are expunged (RFC 7162 3.2.10): without these records a QRESYNC
      // client would keep them, and selected sessions get EXPUNGE from the event below.
      const record = ctx.prepare(
        'INSERT INTO mailbox_expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?) ' +
          'ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq',
      );
      for (const uid of moved) record.run(id, uid, modseq);
      return { inboxId: id, moved };
    }
    const children = ctx
      .prepare<[number, string, string], { id: number; name: string }>(
        "SELECT id, name FROM mailboxes WHERE account_id = ? AND substr(name, 1, length(?) + 1) = ? || '/'",
      )
      .all(accountId, from, from);
    for (const c of children) {
      const newName = to + c.name.slice(from.length);
      if (findId(ctx, accountId, newName) !== null) {
        throw new MailroomError('MAILBOX_EXISTS', `mailbox ${newName} already exists`);
      }
    }
    ctx.prepare('UPDATE mailboxes SET name = ?, parent_id = ? WHERE id = ?').run(to, parentId, id);
    rec.note(accountId, 'Mailbox', id, ChangeKind.Updated);
    const rename = ctx.prepare('UPDATE mailboxes SET name = ? WHERE id = ?');
    for (const c of children) {
      rename.run(to + c.name.slice(from.length), c.id);
      rec.note(accountId, 'Mailbox', c.id, ChangeKind.Updated);
    }
    return null;
  }
}

export function subscribeName(ctx: SqliteContext, accountId: number, name: string): void {
  ctx
    .prepare('INSERT INTO subscriptions (account_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING')
    .run(accountId, name);
}

/**
 * SUBSCRIBE adds a name whether or not a mailbox has it (RFC 9051 6.3.7 lets a server refuse one that
 * does not exist, but Dovecot accepts it and a client may subscribe before CREATE); subscribing twice is
 * no error. UNSUBSCRIBE of a name not in the list is 'NOT_SUBSCRIBED' (RFC 9051 6.3.8: NO).
 */
export function setSubscribed(ctx: SqliteContext, accountId: number, rawName: string, on: boolean): void {
  const name = normalizeMailboxName(rawName);
  const states = ctx.write(() => {
    if (on) {
      subscribeName(ctx, accountId, name);
    } else {
      const r = ctx
        .prepare('DELETE FROM subscriptions WHERE account_id = ? AND name = ?')
        .run(accountId, name);
      if (r.changes === 0) throw new MailroomError('NOT_SUBSCRIBED', `not subscribed: ${name}`);
    }
    // JMAP Mailbox isSubscribed (RFC 8621 2) changed, if a mailbox has the name.
    const id = findId(ctx, accountId, name);
    const rec = new ChangeRecorder();
    if (id !== null) rec.note(accountId, 'Mailbox', id, ChangeKind.Updated);
    return rec.flush(ctx.prepare);
  });
  // IMAP NOTIFY SubscriptionChange (RFC 5465 5.5) listens for this.
  ctx.emit('mailboxes', { accountId });
  emitChanges(ctx, states);
}

/** The account's subscribed names, existing or not, in binary name order. */
export function listSubscriptions(ctx: SqliteContext, accountId: number): string[] {
  return ctx
    .prepare<[number], { name: string }>('SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name')
    .all(accountId)
    .map((r) => r.name);
}

/**
 * Sets a mailbox's special use (IMAP SPECIAL-USE, RFC 6154; JMAP Mailbox role, RFC 8621 2) and/or its
 * JMAP sortOrder; `undefined` leaves one as it is. A Mailbox update in the change log. 'NO_SUCH_MAILBOX'.
 */
export function setMailboxAttributes(
  ctx: SqliteContext,
  accountId: number,
  rawName: string,
  attributes: { specialUse?: string | null; sortOrder?: number | null },
): void {
  const name = normalizeMailboxName(rawName);
  const states = ctx.write(() => {
    const id = findId(ctx, accountId, name);
    if (id === null) throw new MailroomError('NO_SUCH_MAILBOX', `no such mailbox: ${name}`);
    if (attributes.specialUse !== undefined) {
      ctx.prepare('UPDATE mailboxes SET special_use = ? WHERE id = ?').run(attributes.specialUse, id);
    }
    if (attributes.sortOrder !== undefined) {
      ctx.prepare('UPDATE mailboxes SET sort_order = ? WHERE id = ?').run(attributes.sortOrder, id);
    }
    const rec = new ChangeRecorder();
    rec.note(accountId, 'Mailbox', id, ChangeKind.Updated);
    return rec.flush(ctx.prepare);
  });
  ctx.emit('mailboxes', { accountId });
  emitChanges(ctx, states);
}
