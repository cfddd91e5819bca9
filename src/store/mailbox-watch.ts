// Store change events dispatched per mailbox: one emitter listener per event kind, however many sessions watch.
import type { EventEmitter } from 'node:events';
import type { StoreEvents } from './store.js';

/** What a watcher is told: something changed in this mailbox (it reads the store to find out what). */
export interface MailboxChange {
  accountId: number;
  mailboxId: number;
}

type Watcher = (change: MailboxChange) => void;

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
  private attached = false;
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
      if (this.watchers.size === 0) this.detach();
    };
  }

  /** Mailboxes with at least one watcher (tests, diagnostics). */
  get watchedMailboxes(): number {
    return this.watchers.size;
  }

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    for (const event of MAILBOX_EVENTS) this.events.on(event, this.dispatch);
  }

  private detach(): void {
    if (!this.attached) return;
    this.attached = false;
    for (const event of MAILBOX_EVENTS) this.events.off(event, this.dispatch);
  }
}

const byEmitter = new WeakMap<EventEmitter<StoreEvents>, MailboxWatch>();

/** The one MailboxWatch of a store (keyed by its emitter, so every Store backend gets it for free). */
export function mailboxWatchOf(events: EventEmitter<StoreEvents>): MailboxWatch {
  let watch = byEmitter.get(events);
  if (!watch) byEmitter.set(events, (watch = new MailboxWatch(events)));
  return watch;
}
