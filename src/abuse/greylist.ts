// Greylisting (as postgrey): a pure decision over the stored rows of one triplet and its client network, and the store-backed check.
import { isIP } from 'node:net';
import { GREYLIST } from '../config/limits.js';
import type { GreylistRow, PolicyStore } from '../store/policy-store.js';
import { ipKey } from '../net/per-ip-limits.js';

/*
 * Why it works: spam software fires and forgets, a real MTA queues and retries (RFC 5321 4.5.4.1). The
 * first time a (client network, sender, recipient) triplet is seen the RCPT gets 451 4.7.1; a retry
 * after `delayMs` passes and the triplet is remembered, and so is the client network (auto-pass after
 * `autoPassAfter` passed retries, postgrey's auto-whitelist), so a real server is delayed once. The
 * network rather than the IP because large senders retry from another address of the same pool.
 */

export interface GreylistSettings {
  delayMs: number;
  retryWindowMs: number;
  maxAgeMs: number;
  autoPassAfter: number;
  maxEntries: number;
}

export const DEFAULT_GREYLIST_SETTINGS: GreylistSettings = { ...GREYLIST };

export interface GreylistFacts {
  /** The client's IP address as the socket reports it. */
  ip: string;
  sender: string; // '' for the null sender: bounces are greylisted too (postgrey), real MTAs retry them
  recipient: string;
}

export type GreylistReason =
  | 'network-passed' // the client network retried properly before (auto-pass)
  | 'triplet-passed' // this triplet passed before
  | 'retried' // the first retry after the delay: passes now
  | 'new' // first seen (or forgotten): 451
  | 'too-early'; // seen, but the delay has not passed yet: 451

export interface GreylistDecision {
  verdict: 'pass' | 'defer';
  reason: GreylistReason;
  /** Rows to store (new or changed); empty when nothing needs writing. */
  save: GreylistRow[];
}

/** A pass refreshes last_seen at most this often, so a busy passed network does not write on every RCPT. */
const REFRESH_MS = 60 * 60_000;

/** The client network: IPv4 /24, IPv6 /64 (IPv4-mapped IPv6 counts as IPv4). */
export function clientNetwork(ip: string): string {
  const key = ipKey(ip); // per-ip-limits: '::ffff:a.b.c.d' -> 'a.b.c.d', IPv6 -> 'x:x:x:x::/64'
  if (isIP(key) === 4) return `${key.split('.').slice(0, 3).join('.')}.0/24`;
  return key;
}

export function tripletKey(network: string, sender: string, recipient: string): string {
  return `T ${network} ${sender.toLowerCase()} ${recipient.toLowerCase()}`;
}

export function networkKey(network: string): string {
  return `N ${network}`;
}

/** The decision for one RCPT, from the rows stored for its triplet and network (null: none). */
export function decideGreylist(
  keys: { triplet: string; network: string },
  rows: { triplet: GreylistRow | null; network: GreylistRow | null },
  now: number,
  s: GreylistSettings,
): GreylistDecision {
  const net = rows.network;
  const netAlive = net !== null && now - net.lastSeen <= s.maxAgeMs;
  if (netAlive && net.passes >= s.autoPassAfter) {
    return { verdict: 'pass', reason: 'network-passed', save: refreshed(net, now) };
  }
  const t = rows.triplet;
  const forgotten =
    t === null ||
    (t.passedAt === null && now - t.firstSeen > s.retryWindowMs) ||
    (t.passedAt !== null && now - t.lastSeen > s.maxAgeMs);
  if (forgotten) {
    const row = { key: keys.triplet, firstSeen: now, passedAt: null, lastSeen: now, passes: 0 };
    return { verdict: 'defer', reason: 'new', save: [row] };
  }
  if (t.passedAt !== null) return { verdict: 'pass', reason: 'triplet-passed', save: refreshed(t, now) };
  if (now - t.firstSeen < s.delayMs) {
    // last_seen is not moved: the delay counts from the first attempt, as postgrey's.
    return { verdict: 'defer', reason: 'too-early', save: [] };
  }
  const base = netAlive
    ? net
    : { key: keys.network, firstSeen: now, passedAt: null, lastSeen: now, passes: 0 };
  return {
    verdict: 'pass',
    reason: 'retried',
    save: [
      { ...t, passedAt: now, lastSeen: now, passes: t.passes + 1 },
      { ...base, passedAt: base.passedAt ?? now, lastSeen: now, passes: base.passes + 1 },
    ],
  };
}

function refreshed(row: GreylistRow, now: number): GreylistRow[] {
  return now - row.lastSeen >= REFRESH_MS ? [{ ...row, lastSeen: now }] : [];
}

export type GreylistStore = Pick<PolicyStore, 'greylistRows' | 'greylistSave'>;

/** The store-backed check the SMTP services call at RCPT (the clock injected). */
export function createGreylist(
  store: GreylistStore,
  settings: GreylistSettings,
  now: () => number,
): (facts: GreylistFacts) => GreylistDecision {
  return (facts) => {
    const network = clientNetwork(facts.ip);
    const keys = {
      triplet: tripletKey(network, facts.sender, facts.recipient),
      network: networkKey(network),
    };
    const found = store.greylistRows([keys.triplet, keys.network]);
    const rows = {
      triplet: found.find((r) => r.key === keys.triplet) ?? null,
      network: found.find((r) => r.key === keys.network) ?? null,
    };
    const at = now();
    const decision = decideGreylist(keys, rows, at, settings);
    store.greylistSave(decision.save, {
      keepSince: at - settings.maxAgeMs,
      unretriedSince: at - settings.retryWindowMs,
      maxEntries: settings.maxEntries,
    });
    return decision;
  };
}
