// Password-guessing throttle (pure, clock passed in): growing delays per (account, IP), per IP, per attacked account; no lockout.
import { isIPv4, isIPv6 } from 'node:net';
import { AUTH_FAILURE_LIMITS } from '../config/limits.js';

export interface FailureLimits {
  /** Each failure adds this much to the wait before the next check (CONTRACT.md: "about a second"). */
  stepMs: number;
  /** The wait stops growing here; an attempt that cannot get its turn within it is refused unchecked. */
  maxDelayMs: number;
  /** Per IP (over all accounts) one step per this many failures: a NAT or an office holds many users. */
  ipFactor: number;
  /** An account is under distributed attack once more than this many IPs failed on it in the window. */
  accountFreeIps: number;
  /** A key is forgotten this long after its last failure. */
  windowMs: number;
  /** Bound on tracked keys (failures and attempts in flight). */
  maxTrackedKeys: number;
  /** IPs that signed in to an account are remembered this long, at most this many per account ... */
  knownIpTtlMs: number;
  knownIpsPerAccount: number;
  /** ... for at most this many accounts. */
  maxKnownAccounts: number;
}

/** A password check that may run now; hand it back to `settle` with the outcome. */
export interface Ticket {
  /** The keys this check holds while in flight. */
  readonly keys: readonly string[];
  readonly ip: string;
  readonly account: string;
  /** Signed in from this IP before: its failures still count per IP, not towards an attack. */
  readonly known: boolean;
}

export type BeginVerdict =
  | { kind: 'go'; ticket: Ticket }
  /**
   * Not yet. `until`: the earliest time a failure delay allows (null: none pending); `busy`: another
   * check on the same key is in flight; it counts as a failure until it settles, so ask again then.
   */
  | { kind: 'wait'; until: number | null; busy: boolean };

export type Outcome = 'ok' | 'failed' | 'error';

interface Entry {
  failures: number;
  lastFailureAt: number;
  inFlight: number;
  /** Account keys only: how many IPs failed (the delay grows with these, not with failures). */
  sources: number;
}

type KeyKind = 'pair' | 'ip' | 'account';

/**
 * Decides when each password check may run. Every attempt asks `begin` synchronously when it
 * starts, and a check it is granted counts as in flight on its keys until `settle`: a second
 * attempt on any of those keys waits for it (an attempt in flight counts as a failure), so
 * parallel connections are checked one at a time per key, each after the delay the failures
 * before it earned. There is no lockout: a wait is at most `maxDelayMs`, so nobody can keep an
 * owner out, and the owner's own known IPs skip the account-wide slowdown.
 *
 * Keys: "p:<account> <ip>" (from the first failure, +stepMs per failure), "i:<ip>" (over all
 * accounts, +stepMs per `ipFactor` failures) and "a:<account>" (counts failing IPs; once more than
 * `accountFreeIps` failed, new IPs wait +stepMs per further IP). An IP that signed in to the
 * account before is subject to its pair key only. IPv6 addresses are keyed by their /64: one host usually holds the whole prefix.
 *
 * State is in memory only and is lost on restart, on purpose: writing it to the store would let
 * guessers cause a write per attempt, while a restart (which they cannot cause) only forgets delays
 * worth a few guesses and which IPs are known. Memory is bounded: keys expire `windowMs` after their
 * last failure and the least recently failed go first past `maxTrackedKeys`; known IPs likewise.
 */
export class FailureLimiter {
  private readonly entries = new Map<string, Entry>();
  /** account -> (ip key -> expiry), both in least-recently-used order. */
  private readonly known = new Map<string, Map<string, number>>();

  constructor(private readonly limits: FailureLimits = AUTH_FAILURE_LIMITS) {}

  /** May a check for `account` (lower-cased) from `ip` run at `now`? If so its slot is taken at once. */
  begin(ip: string, account: string, now: number): BeginVerdict {
    const ipKey = clientKey(ip);
    const keys: [string, KeyKind][] = [[`p:${account} ${ipKey}`, 'pair']];
    // An IP that signed in to this account before is slowed only by this pair's own failures:
    // not by other accounts' failures from the same IP (a NAT where someone else guesses) nor by
    // a distributed attack on the account, so the owner gets in at once through both.
    const known = this.isKnown(account, ipKey, now);
    if (!known) keys.push([`i:${ipKey}`, 'ip'], [`a:${account}`, 'account']);
    let until = 0;
    let busy = false;
    for (const [key, kind] of keys) {
      const entry = this.live(key, now);
      if (!entry) continue;
      if (entry.inFlight > 0) busy = true;
      const count = kind === 'account' ? entry.sources : entry.failures;
      until = Math.max(until, entry.lastFailureAt + this.delayFor(kind, count));
    }
    if (busy || until > now) return { kind: 'wait', until: until > now ? until : null, busy };
    for (const [key] of keys) {
      const entry = this.entries.get(key);
      if (entry) entry.inFlight++;
      else this.insert(key, { failures: 0, lastFailureAt: 0, inFlight: 1, sources: 0 });
    }
    return { kind: 'go', ticket: { keys: keys.map(([key]) => key), ip: ipKey, account, known } };
  }

  /** The check ended: a failure is counted on its keys; a success forgets the pair's failures. */
  settle(ticket: Ticket, outcome: Outcome, now: number): void {
    const pairKey = ticket.keys[0]!;
    for (const key of ticket.keys) {
      const entry = this.entries.get(key);
      if (entry) entry.inFlight = Math.max(0, entry.inFlight - 1);
    }
    if (outcome === 'failed') {
      const firstFromThisIp = (this.live(pairKey, now)?.failures ?? 0) === 0;
      this.fail(pairKey, now);
      this.fail(`i:${ticket.ip}`, now);
      // The account-wide delay grows with the number of failing IPs, not failures: one IP
      // hammering an account is slowed by its own keys and must not slow the owner's other IPs.
      // Once many IPs failed, every failure from a new IP restarts the account's wait.
      if (!ticket.known) this.fail(`a:${ticket.account}`, now).sources += firstFromThisIp ? 1 : 0;
    } else if (outcome === 'ok') {
      // The owner got in from here: forget this pair's failures and remember the IP. The IP's
      // own count stays (a host that owns one account must not reset its budget for guessing
      // others), and so does the account's (the owner logging in must not lift a distributed
      // attack's slowdown for new IPs).
      const pair = this.entries.get(pairKey);
      if (pair) pair.failures = 0;
      this.remember(ticket.account, ticket.ip, now);
    }
    for (const key of ticket.keys) this.dropIfClean(key);
    this.sweep(now);
  }

  /** Number of keys and known IPs tracked (for tests and metrics). */
  get size(): number {
    let n = this.entries.size;
    for (const ips of this.known.values()) n += ips.size;
    return n;
  }

  private delayFor(kind: KeyKind, failures: number): number {
    const { stepMs, ipFactor, accountFreeIps } = this.limits;
    const steps =
      kind === 'pair'
        ? failures
        : kind === 'ip'
          ? Math.ceil(failures / ipFactor)
          : Math.max(0, failures - accountFreeIps);
    return Math.min(this.limits.maxDelayMs, stepMs * steps);
  }

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.expired(entry, now)) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private expired(entry: Entry, now: number): boolean {
    return (
      entry.inFlight === 0 && (entry.failures === 0 || now - entry.lastFailureAt >= this.limits.windowMs)
    );
  }

  private fail(key: string, now: number): Entry {
    const entry = this.live(key, now) ?? { failures: 0, lastFailureAt: 0, inFlight: 0, sources: 0 };
    entry.failures++;
    entry.lastFailureAt = now;
    // Re-insert so Map order is least-recently-failed first (for sweep and eviction).
    this.entries.delete(key);
    this.insert(key, entry);
    return entry;
  }

  private insert(key: string, entry: Entry): void {
    this.entries.set(key, entry);
    while (this.entries.size > this.limits.maxTrackedKeys) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  private dropIfClean(key: string): void {
    const entry = this.entries.get(key);
    if (entry && entry.inFlight === 0 && entry.failures === 0) this.entries.delete(key);
  }

  /** Drops a few expired keys from the old end, so idle keys go even when nobody asks for them. */
  private sweep(now: number): void {
    let budget = 8;
    for (const [key, entry] of this.entries) {
      if (budget-- === 0 || !this.expired(entry, now)) break;
      this.entries.delete(key);
    }
  }

  private isKnown(account: string, ipKey: string, now: number): boolean {
    const expiresAt = this.known.get(account)?.get(ipKey);
    return expiresAt !== undefined && expiresAt > now;
  }

  private remember(account: string, ipKey: string, now: number): void {
    const ips = this.known.get(account) ?? new Map<string, number>();
    this.known.delete(account);
    this.known.set(account, ips);
    ips.delete(ipKey);
    ips.set(ipKey, now + this.limits.knownIpTtlMs);
    for (const [ip, expiresAt] of ips) {
      if (ips.size <= this.limits.knownIpsPerAccount && expiresAt > now) break;
      ips.delete(ip);
    }
    while (this.known.size > this.limits.maxKnownAccounts) {
      const oldest = this.known.keys().next().value;
      if (oldest === undefined) break;
      this.known.delete(oldest);
    }
  }
}

/**
 * The address a client is counted under: IPv4 as is (also when IPv4-mapped, "::ffff:a.b.c.d"),
 * IPv6 by its /64 (RFC 4291 2.5.4: a host's interface id is the low 64 bits, so one client holds
 * the whole /64; counting per address would let it change address per guess).
 */
export function clientKey(ip: string): string {
  const bare = unmappedIp(ip).replace(/%.*$/, '').toLowerCase();
  if (!isIPv6(bare)) return bare;
  const [head = '', tail] = bare.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  // A dotted IPv4 tail (RFC 4291 2.2 form 3) stands for two groups.
  const tailLength = tailGroups.length + (tailGroups.some((g) => g.includes('.')) ? 1 : 0);
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - tailLength).fill('0'), ...tailGroups];
  return groups
    .slice(0, 4)
    .map((g) => (g.includes('.') ? g : (parseInt(g, 16) || 0).toString(16)))
    .join(':')
    .concat('::/64');
}

/** "::ffff:a.b.c.d" (a dual-stack listener's view of an IPv4 client) as "a.b.c.d"; anything else as is. */
export function unmappedIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped && isIPv4(mapped[1]!) ? mapped[1]! : ip;
}
