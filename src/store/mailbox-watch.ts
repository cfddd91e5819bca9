// Store change events dispatched per mailbox: one emitter listener per event kind, however many sessions watch.
import type { EventEmitter } from 'node:events';
import type { StoreEvents } from './store.js';

/** What a watcher is told: something changed in this mailbox (it reads the store to find out what). */
export interface MailboxChange {
  accountId: number;
  mailboxId: number;
}

type Watcher = (change: MailboxChange) => void;

/** What an account watcher is told (IMAP NOTIFY, RFC 5465): the kind of change and the mailbox, if one. */
export interface AccountChange {
  kind: 'message' | 'expunge' | 'flags' | 'mailboxes';
  accountId: number;
  /** null for `mailboxes` (names or subscriptions changed). */
  mailboxId: number | null;
}

type AccountWatcher = (change: AccountChange) => void;

/** The events that concern the messages of one mailbox (what IMAP IDLE reports, RFC 2177). */
const MAILBOX_EVENTS = ['message', 'expunge', 'flags'] as const;

/**
 * Why: each IMAP session in IDLE used to add its own 'message', 'expunge' and 'flags' listener to
 * the store's EventEmitter. Nothing leaked (they were removed at the end), but eleven idling clients
 * - one user's phone, laptop and tablet on a few folders is enough - crossed Node's limit of ten and
 * printed a MaxListenersExceededWarning outside the JSON log, and every event walked every session
 * of every account. Here the emitter has one listener per event kind while anyone watches, and an
 * event reaches only the watchers of its mailbox (a map lookup).
 */
export class MailboxWatch {
  private readonly watchers = new Map<number, Set<Watcher>>();
  /** IMAP NOTIFY sessions, by account: every change of every mailbox of the account, and name changes. */
  private readonly accountWatchers = new Map<number, Set<AccountWatcher>>();
  private attached = false;
  private namesAttached = false;
  private readonly onKind = {
    message: (c: MailboxChange) => this.dispatchAccount('message', c.accountId, c.mailboxId, c),
    expunge: (c: MailboxChange) => this.dispatchAccount('expunge', c.accountId, c.mailboxId, c),
    flags: (c: MailboxChange) => this.dispatchAccount('flags', c.accountId, c.mailboxId, c),
    mailboxes: (c: { accountId: number }) => this.dispatchAccount('mailboxes', c.accountId, null, null),
  };

  /** One event to the account's watchers, then (for message events) to the mailbox's. */
  private dispatchAccount(
    kind: AccountChange['kind'],
    accountId: number,
    mailboxId: number | null,
    change: MailboxChange | null,
  ): void {
    let failure: unknown = null;
    const set = this.accountWatchers.get(accountId);
    if (set) {
      for (const watcher of [...set]) {
        try {
          watcher({ kind, accountId, mailboxId });
        } catch (error) {
          failure ??= error;
        }
      }
    }
    if (change !== null) {
      try {
        this.dispatch(change);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== null) throw failure;
  }
  private readonly dispatch = (change: MailboxChange): void => {
    const set = this.watchers.get(change.mailboxId);
    if (!set) return;
    let failure: unknown = null;
    // A copy: a watcher may stop watching (or another start) while we call them.
    for (const watcher of [...set]) {
      try {
        watcher(change);
      } catch (error) {
        failure ??= error; // the others still hear of the change; the store reports the first failure
      }
    }
    if (failure !== null) throw failure;
  };

  constructor(private readonly events: EventEmitter<StoreEvents>) {}

  /** Calls `watcher` on every change to `mailboxId` until the returned function is called. */
  watch(mailboxId: number, watcher: Watcher): () => void {
    let set = this.watchers.get(mailboxId);
    if (!set) this.watchers.set(mailboxId, (set = new Set()));
    // Wrapped, so the same function watching twice is two watches, each ended by its own call.
    const entry: Watcher = (change) => watcher(change);
    set.add(entry);
    this.attach();
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      set.delete(entry);
      if (set.size === 0 && this.watchers.get(mailboxId) === set) this.watchers.delete(mailboxId);
      if (this.watchers.size === 0 && this.accountWatchers.size === 0) this.detach();
    };
  }

  /** Calls `watcher` on every change to the account's mailboxes and names until the returned function is called. */
  watchAccount(accountId: number, watcher: AccountWatcher): () => void {
    let set = this.accountWatchers.get(accountId);
    if (!set) this.accountWatchers.set(accountId, (set = new Set()));
    const entry: AccountWatcher = (change) => watcher(change);
    set.add(entry);
    this.attach();
    // Name and subscription changes matter to account watchers only: listened to while there are some.
    if (!this.namesAttached) {
      this.namesAttached = true;
      this.events.on('mailboxes', this.onKind.mailboxes);
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      set.delete(entry);
      if (set.size === 0 && this.accountWatchers.get(accountId) === set)
        this.accountWatchers.delete(accountId);
      if (this.accountWatchers.size === 0 && this.namesAttached) {
        this.namesAttached = false;
        this.events.off('mailboxes', this.onKind.mailboxes);
      }
      if (this.watchers.size === 0 && this.accountWatchers.size === 0) this.detach();
    };
  }

  /** Mailboxes with at least one watcher (tests, diagnostics). */
  get watchedMailboxes(): number {
    return this.watchers.size;
  }

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    for (const event of MAILBOX_EVENTS) this.events.on(event, this.onKind[event]);
  }

  private detach(): void {
    if (!this.attached) return;
    this.attached = false;
    for (const event of MAILBOX_EVENTS) this.events.off(event, this.onKind[event]);
  }
}

const byEmitter = new WeakMap<EventEmitter<StoreEvents>, MailboxWatch>();

/** The one MailboxWatch of a store (keyed by its emitter, so every Store backend gets it for free). */
export function mailboxWatchOf(events: EventEmitter<StoreEvents>): MailboxWatch {
  let watch = byEmitter.get(events);
  if (!watch) byEmitter.set(events, (watch = new MailboxWatch(events)));
  return watch;
}
