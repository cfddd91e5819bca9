// JMAP push over EventSource (RFC 8620 7.3), the pure parts: the query, StateChange and ping events, per-account type states.
import type { EventEmitter } from 'node:events';
import { JMAP_PING_SECONDS } from '../../config/limits.js';
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
 * The states push reports, per store account and type. JMAP Mail replaces this with states kept in
 * the store (Email/changes needs them to survive restarts); until then a counter per account, bumped
 * by the store's change events, with a per-process epoch so a restart never repeats a state.
 */
export interface StateSource {
  current(storeAccountId: number): Record<string, string>;
  /** Calls `listener` after each change with the types whose state changed; returns an unsubscribe. */
  subscribe(listener: (storeAccountId: number, changed: Record<string, string>) => void): () => void;
}

/** Which JMAP types (RFC 8621) each store event changes. */
export const TYPES_OF_EVENT = {
  message: ['Email', 'Thread', 'Mailbox', 'EmailDelivery'],
  expunge: ['Email', 'Thread', 'Mailbox'],
  flags: ['Email', 'Mailbox'],
  mailboxes: ['Mailbox'],
} as const satisfies Partial<Record<keyof StoreEvents, readonly string[]>>;

export function storeEventStates(events: EventEmitter<StoreEvents>, epoch: string): StateSource {
  const counters = new Map<number, Map<string, number>>();
  const listeners = new Set<(storeAccountId: number, changed: Record<string, string>) => void>();
  const stateOf = (n: number) => `${epoch}-${n}`;
  const bump = (accountId: number, types: readonly string[]) => {
    let perType = counters.get(accountId);
    if (!perType) counters.set(accountId, (perType = new Map()));
    const changed: Record<string, string> = {};
    for (const type of types) {
      const n = (perType.get(type) ?? 0) + 1;
      perType.set(type, n);
      changed[type] = stateOf(n);
    }
    for (const listener of listeners) listener(accountId, changed);
  };
  for (const [event, types] of Object.entries(TYPES_OF_EVENT) as [
    keyof typeof TYPES_OF_EVENT,
    readonly string[],
  ][]) {
    events.on(event, (e: { accountId: number }) => bump(e.accountId, types));
  }
  return {
    current(storeAccountId) {
      const perType = counters.get(storeAccountId);
      const out: Record<string, string> = {};
      for (const type of new Set(Object.values(TYPES_OF_EVENT).flat()))
        out[type] = stateOf(perType?.get(type) ?? 0);
      return out;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
