// Notices JMAP changes made by other processes (the CLI, another server) and emits them as `changes`, like IMAP IDLE's poll.
import { CHANGE_POLL_MS } from '../config/limits.js';
import type { Store } from './store.js';

/** The timer functions the poller uses: injected so tests drive it exactly (DESIGN habit 10). */
export interface PollTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const NODE_TIMERS: PollTimers = {
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms);
    t.unref?.();
    return t;
  },
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/*
 * Changes made in this process are emitted by the store after each commit. Another process's commits
 * reach this one only through the database, so while someone watches an account (a JMAP push
 * connection: EventSource, RFC 8620 7.3), its change counter is read every CHANGE_POLL_MS (one primary-
 * key probe) and a move not already announced becomes a `changes` event with the account's states. The
 * event listeners cannot tell where a change came from; a change is announced once (states already
 * announced by the store's own event are not repeated).
 */
export class ChangePoller {
  private readonly watched = new Map<number, { watchers: number; counter: number; states: string }>();
  private timer: unknown = null;

  constructor(
    private readonly store: Store,
    private readonly intervalMs = CHANGE_POLL_MS,
    private readonly timers: PollTimers = NODE_TIMERS,
  ) {
    this.store.events.on('changes', this.onChanges);
  }

  /** Starts watching an account; call the returned function to stop (watches are counted). */
  watch(accountId: number): () => void {
    let w = this.watched.get(accountId);
    if (!w) {
      w = {
        watchers: 0,
        counter: this.store.jmap.changeCounter(accountId),
        states: JSON.stringify(this.store.jmap.states(accountId)),
      };
      this.watched.set(accountId, w);
    }
    w.watchers++;
    if (this.timer === null) this.timer = this.timers.setInterval(() => this.poll(), this.intervalMs);
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      const entry = this.watched.get(accountId);
      if (entry && --entry.watchers === 0) this.watched.delete(accountId);
      if (this.watched.size === 0) this.stopTimer();
    };
  }

  /** One round: what the timer runs (public for tests and for a caller that wants an immediate check). */
  poll(): void {
    for (const [accountId, w] of this.watched) {
      const counter = this.store.jmap.changeCounter(accountId);
      if (counter === w.counter) continue;
      w.counter = counter;
      const states = this.store.jmap.states(accountId);
      const text = JSON.stringify(states);
      if (text === w.states) continue;
      w.states = text;
      this.store.events.emit('changes', { accountId, states });
    }
  }

  close(): void {
    this.store.events.off('changes', this.onChanges);
    this.watched.clear();
    this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer !== null) this.timers.clearInterval(this.timer);
    this.timer = null;
  }

  /** This process's own changes (and the poller's): remembered, so the poll does not repeat them. */
  private readonly onChanges = (e: { accountId: number; states: Record<string, string> }): void => {
    const w = this.watched.get(e.accountId);
    if (w) w.states = JSON.stringify(e.states);
  };
}
