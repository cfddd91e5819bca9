// JMAP push over EventSource (RFC 8620 7.3), the pure parts: the query, StateChange and ping events, per-account type states.
import type { EventEmitter } from 'node:events';
import { JMAP_PING_SECONDS } from '../../config/limits.js';
import { JMAP_TYPES, type JmapStates } from '../../store/jmap-store.js';
import type { StoreEvents } from '../../store/store.js';

export interface EventSourceParams {
  /** Type names to report, or null for all ("*"). */
  types: ReadonlySet<string> | null;
  /** closeafter=state: end the response after the first state event (long polling). */
  closeAfterState: boolean;
  /** Seconds between pings after the last event; 0: no pings. Clamped into JMAP_PING_SECONDS. */
  pingSeconds: number;
}

/**
 * The eventSourceUrl's query (RFC 8620 7.3): types ("*" or a comma-separated list), closeafter
 * ("state" or "no"), ping (seconds, 0 for none). All three are required by the template, but a
 * missing one takes the harmless default (all types, no, 0). A malformed value is an error string.
 */
export function parseEventSourceQuery(query: URLSearchParams): EventSourceParams | string {
  const typesText = query.get('types') ?? '*';
  let types: Set<string> | null = null;
  if (typesText !== '*') {
    const names = typesText.split(',').filter((t) => t !== '');
    if (names.length === 0 || names.some((t) => !/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(t))) {
      return 'types must be "*" or a comma-separated list of type names';
    }
    types = new Set(names);
  }
  const closeafter = query.get('closeafter') ?? 'no';
  if (closeafter !== 'state' && closeafter !== 'no') return 'closeafter must be "state" or "no"';
  const pingText = query.get('ping') ?? '0';
  if (!/^[0-9]{1,9}$/.test(pingText)) return 'ping must be a non-negative integer (seconds)';
  const ping = Number(pingText);
  // RFC 8620 7.3: the server MAY clamp; its minimum must be <= 30 and its maximum >= 300.
  const pingSeconds = ping === 0 ? 0 : Math.min(JMAP_PING_SECONDS.max, Math.max(JMAP_PING_SECONDS.min, ping));
  return { types, closeAfterState: closeafter === 'state', pingSeconds };
}

/** accountId -> type name -> state string (RFC 8620 7.1 TypeState). */
export type StateMap = Record<string, Record<string, string>>;

/** Keeps only the wanted types; accounts left without any are dropped. Null when nothing remains. */
export function filterStates(changed: StateMap, types: ReadonlySet<string> | null): StateMap | null {
  const out: StateMap = {};
  for (const [accountId, states] of Object.entries(changed)) {
    const kept = Object.entries(states).filter(([type]) => types === null || types.has(type));
    if (kept.length > 0) out[accountId] = Object.fromEntries(kept);
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** One `state` event (RFC 8620 7.3: event "state", data a StateChange object, 7.1). */
export function stateEvent(changed: StateMap): string {
  return `event: state\ndata: ${JSON.stringify({ '@type': 'StateChange', changed })}\n\n`;
}

/** One `ping` event (RFC 8620 7.3: data {"interval": seconds actually used}). */
export function pingEvent(intervalSeconds: number): string {
  return `event: ping\ndata: ${JSON.stringify({ interval: intervalSeconds })}\n\n`;
}

/**
 * The states push reports, per store account and type: the store's own states (jmap-store.ts), the
 * same strings /get and /changes return, so a client can pass a pushed state to Foo/changes.
 */
export interface StateSource {
  current(storeAccountId: number): Record<string, string>;
  /** Calls `listener` after each change with the types whose state changed; returns an unsubscribe. */
  subscribe(listener: (storeAccountId: number, changed: Record<string, string>) => void): () => void;
  /**
   * Keeps the account's changes coming while a push connection is open, including those other
   * processes make (the CLI, a second server: ChangePoller); returns the release.
   */
  watch(storeAccountId: number): () => void;
}

/** The part of the store the state source reads (store.ts Store). */
export interface StateStore {
  readonly events: EventEmitter<StoreEvents>;
  readonly jmap: { states(accountId: number): JmapStates };
}

/**
 * Push from the store: each `changes` event (this process's commits, and other processes' through the
 * ChangePoller that `watch` starts) becomes the types whose state moved since the last one seen.
 * EmailDelivery (RFC 8621 1.5) is a push-only type whose state is the Email state after new mail
 * arrived in this process (a `message` event: delivery, APPEND, COPY). The store emits `message` and
 * `changes` of one commit a few microtasks apart, in either order, so what changed is gathered and
 * reported once per turn of the event loop (`defer`): one StateChange per commit, not two.
 */
export function storeStates(
  store: StateStore,
  poller: { watch(accountId: number): () => void },
  defer: (fn: () => void) => void = setImmediate,
): StateSource {
  const listeners = new Set<(storeAccountId: number, changed: Record<string, string>) => void>();
  const last = new Map<number, { watchers: number; states: JmapStates; delivery: string }>();
  const pending = new Map<number, Record<string, string>>();
  const flush = () => {
    const batch = [...pending];
    pending.clear();
    for (const [accountId, changed] of batch) {
      if (!last.has(accountId)) continue; // released meanwhile
      for (const listener of listeners) listener(accountId, changed);
    }
  };
  const note = (accountId: number, changed: Record<string, string>) => {
    if (Object.keys(changed).length === 0) return;
    if (pending.size === 0) defer(flush);
    pending.set(accountId, { ...pending.get(accountId), ...changed });
  };
  const diff = (accountId: number, states: JmapStates, delivered: boolean) => {
    const entry = last.get(accountId);
    if (!entry) return; // nobody listens for this account
    const changed: Record<string, string> = {};
    for (const type of JMAP_TYPES) if (states[type] !== entry.states[type]) changed[type] = states[type];
    entry.states = states;
    if (delivered && states.Email !== entry.delivery) changed.EmailDelivery = entry.delivery = states.Email;
    note(accountId, changed);
  };
  store.events.on('changes', ({ accountId, states }) => diff(accountId, states, false));
  store.events.on('message', ({ accountId }) => {
    if (last.has(accountId)) diff(accountId, store.jmap.states(accountId), true);
  });
  return {
    current(storeAccountId) {
      const states = store.jmap.states(storeAccountId);
      return { ...states, EmailDelivery: last.get(storeAccountId)?.delivery ?? states.Email };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    watch(storeAccountId) {
      let entry = last.get(storeAccountId);
      if (!entry) {
        const states = store.jmap.states(storeAccountId);
        last.set(storeAccountId, (entry = { watchers: 0, states, delivery: states.Email }));
      }
      entry.watchers++;
      const release = poller.watch(storeAccountId);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        release();
        if (--entry.watchers === 0) last.delete(storeAccountId);
      };
    },
  };
}
