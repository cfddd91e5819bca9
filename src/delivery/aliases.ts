// Alias resolution (pure over a lookup): exact, plus-addressing, catch-all, recursive expansion with loop/depth limits.
import { ALIAS_MAX_DEPTH, ALIAS_MAX_TARGETS } from '../config/limits.js';

/** The few reads resolution needs; the router adapts the Store to this. */
export interface AddressBook {
  isLocalDomain(domain: string): boolean;
  /** Account id for a lower-cased address, or null. */
  accountId(address: string): number | null;
  /** Targets of the alias with this exact source ('local@domain' or '@domain'), or null. */
  aliasTargets(source: string): string[] | null;
}

/** Where one address ends up. */
export interface Resolution {
  local: number[]; // account ids, de-duplicated, in first-seen order
  remote: string[]; // addresses outside our domains, de-duplicated, lower-cased domain
  /** The first alias loop met (sources in order, the repeated one last), if any. */
  loop?: string[];
}

/** Splits at the last '@' (a quoted local part may contain '@'); the domain is lower-cased (RFC 5321 2.4). */
export function splitAddress(address: string): { local: string; domain: string } | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  return { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase() };
}

/**
 * Local parts are compared case-insensitively. RFC 5321 2.4 lets the receiving host decide; every
 * mainstream server folds case, and treating Alice@ and alice@ as two people only loses mail.
 */
export function normalizeAddress(address: string): string | null {
  const parts = splitAddress(address);
  return parts ? `${parts.local.toLowerCase()}@${parts.domain}` : null;
}

/**
 * How one local address is looked up, in order (the first that exists wins):
 *   1. an account with exactly this address;
 *   2. an alias with exactly this source;
 *   3. plus-addressing: `alice+tag@d` -> account or alias `alice@d`;
 *   4. the catch-all alias `@d`.
 * Returns what it found, or null (unknown user).
 */
type Hit = { kind: 'account'; id: number } | { kind: 'alias'; source: string; targets: string[] };

export function lookupLocal(book: AddressBook, local: string, domain: string): Hit | null {
  const exact = `${local}@${domain}`;
  const direct = lookupExact(book, exact);
  if (direct) return direct;
  const plus = local.indexOf('+');
  if (plus > 0) {
    const base = lookupExact(book, `${local.slice(0, plus)}@${domain}`);
    if (base) return base;
  }
  const catchAll = book.aliasTargets(`@${domain}`);
  if (catchAll) return { kind: 'alias', source: `@${domain}`, targets: catchAll };
  return null;
}

function lookupExact(book: AddressBook, address: string): Hit | null {
  const id = book.accountId(address);
  if (id !== null) return { kind: 'account', id };
  const targets = book.aliasTargets(address);
  if (targets) return { kind: 'alias', source: address, targets };
  return null;
}

/**
 * Expands a local address to accounts and remote addresses. Alias targets are resolved the same
 * way, recursively: an alias source already on the current path is a loop and is skipped (so
 * a -> b -> a delivers nothing twice and never spins) and reported in `loop`; past ALIAS_MAX_DEPTH a
 * branch is dropped. Unknown local targets are dropped (the admin's alias is stale, the sender did
 * nothing wrong). If nothing at all remains: null (the caller treats the address as unknown), or,
 * when a loop was met, an empty resolution with `loop` (RFC 5321 6.3: a routing loop, 554 5.4.6).
 */
export function resolveLocal(book: AddressBook, local: string, domain: string): Resolution | null {
  const first = lookupLocal(book, local.toLowerCase(), domain);
  if (!first) return null;
  // The common case, an account's own address: what visit() below would give, without its three Sets.
  if (first.kind === 'account') return { local: [first.id], remote: [] };
  const out: Resolution = { local: [], remote: [] };
  const seenLocal = new Set<number>();
  const seenRemote = new Set<string>();
  const full = () => seenLocal.size + seenRemote.size >= ALIAS_MAX_TARGETS;

  const visit = (hit: Hit, path: Set<string>, depth: number): void => {
    if (hit.kind === 'account') {
      if (!seenLocal.has(hit.id) && !full()) {
        seenLocal.add(hit.id);
        out.local.push(hit.id);
      }
      return;
    }
    if (path.has(hit.source)) {
      out.loop ??= [...path, hit.source];
      return;
    }
    if (depth >= ALIAS_MAX_DEPTH) return;
    const inner = new Set(path).add(hit.source);
    for (const target of hit.targets) {
      const address = normalizeAddress(target.trim());
      if (!address) continue;
      const parts = splitAddress(address)!;
      if (!book.isLocalDomain(parts.domain)) {
        if (!seenRemote.has(address) && !full()) {
          seenRemote.add(address);
          out.remote.push(address);
        }
        continue;
      }
      const next = lookupLocal(book, parts.local, parts.domain);
      if (next) visit(next, inner, depth + 1);
    }
  };
  visit(first, new Set(), 0);
  return out.local.length + out.remote.length > 0 || out.loop ? out : null;
}

/**
 * The first alias loop that resolving the alias `source` runs into, as the chain of sources with the
 * repeated one last (['a@d', 'b@d', 'a@d']), or null. Follows exactly what delivery follows (exact
 * address, plus-addressing, the catch-all), so `a -> nobody@d` with `@d -> a@d` is a loop, and so is a
 * catch-all that targets an unknown address of its own domain. `mailroom alias add` refuses what this
 * finds (store/sqlite/directory.ts checks it in the same transaction as the write).
 */
export function findAliasLoop(book: AddressBook, source: string): string[] | null {
  const targets = book.aliasTargets(source);
  if (!targets) return null;
  const done = new Set<string>(); // sources fully explored without a loop
  const visit = (hit: Hit, path: string[]): string[] | null => {
    if (hit.kind === 'account') return null;
    if (path.includes(hit.source)) return [...path, hit.source];
    if (done.has(hit.source) || path.length >= ALIAS_MAX_DEPTH) return null;
    const inner = [...path, hit.source];
    for (const target of hit.targets) {
      const address = normalizeAddress(target.trim());
      const parts = address === null ? null : splitAddress(address);
      if (!parts || !book.isLocalDomain(parts.domain)) continue;
      const next = lookupLocal(book, parts.local, parts.domain);
      const loop = next ? visit(next, inner) : null;
      if (loop) return loop;
    }
    done.add(hit.source);
    return null;
  };
  return visit({ kind: 'alias', source, targets }, []);
}
