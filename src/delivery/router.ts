// SmtpServices.routeRecipient: local vs remote for one RCPT address, from the Store (aliases, plus, catch-all, postmaster).
import type { RouteResult } from '../smtp/server/services.js';
import type { LookupFreshness, Store } from '../store/store.js';
import { resolveLocal, splitAddress, type AddressBook } from './aliases.js';
import type { SrsService } from './srs-forwarding.js';
import { isSrsLocalPart } from '../sender-auth/srs.js';

export type RouterStore = Pick<
  Store,
  'isLocalDomain' | 'getAccount' | 'getAlias' | 'listAccounts' | 'listDomains'
>;

export type RouteRecipient = (address: string, authenticatedAs: string | null) => RouteResult;

/**
 * The Store seen through the narrow AddressBook the pure resolver needs. `freshness` (store.ts): the router's
 * per-RCPT lookups are 'recent'; a sender's ownership check (submission's MAIL) stays exact.
 */
export function addressBookOf(store: RouterStore, freshness: LookupFreshness = 'exact'): AddressBook {
  return {
    isLocalDomain: (domain) => store.isLocalDomain(domain, freshness),
    // A removed account (`user remove --keep-mail`) receives nothing: its address is unknown. A disabled
    // one still receives (CONTRACT.md: only its sign-in is refused).
    accountId: (address) => {
      const account = store.getAccount(address, freshness);
      return account && account.state !== 'removed' ? account.id : null;
    },
    aliasTargets: (source) => store.getAlias(source, freshness)?.targets ?? null,
  };
}

/**
 * Builds routeRecipient. Reads the store on every call, so an admin's `mailroom user add` is seen
 * by the next RCPT without a restart (its lookups are 'recent': a removal by another process takes up to
 * LOOKUP_RECENT_MS, store.ts LookupFreshness).
 *
 * Decisions:
 * - `postmaster@<local domain>` must always be accepted (RFC 5321 4.5.1). It resolves like any
 *   address first (account, alias, catch-all); if nothing matches, it goes to the oldest account of
 *   that domain (the first one an admin creates is usually theirs), else the oldest account of any
 *   local domain. Only a server with no accounts at all refuses it: there is nowhere to put it.
 * - Bare `postmaster` (RCPT TO:<Postmaster>, RFC 5321 4.5.1: no domain, case-insensitive) is the
 *   postmaster of `hostname` if that is a local domain, else of the first local domain.
 * - Address literals (`user@[192.0.2.1]`, RFC 5321 4.1.3) are never local: we do not know which
 *   of our IPs a NAT or proxy presented, and mail for a person belongs to a domain. Authenticated
 *   clients may still send to them (remote), others get relay-denied.
 * - With `srs`, an SRS0/SRS1 local part of a local domain is a bounce's way back to a forwarded
 *   message's sender: it routes to the reversed address once the hash and age verify, marked
 *   bounceOnly (the RCPT handler takes it only with MAIL FROM:<>); a forged or expired one is unknown.
 *   An alias that forwards to remote addresses marks the route forwardedBy its domain (SRS rewriting).
 */
export function createRouter(
  store: RouterStore,
  options: { hostname: string; srs?: SrsService },
): RouteRecipient {
  const book = addressBookOf(store, 'recent');
  const isLocalDomain = book.isLocalDomain;

  const postmasterFallback = (domain: string): RouteResult => {
    const accounts = store.listAccounts().filter((a) => a.state !== 'removed');
    const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
    const ofDomain = accounts.filter((a) => a.address.endsWith(`@${domain}`)).sort(byId);
    const chosen =
      ofDomain[0] ??
      [...accounts].filter((a) => isLocalDomain(a.address.split('@').pop() ?? '')).sort(byId)[0];
    return chosen
      ? { kind: 'accept', local: [{ accountId: chosen.id }], remote: [] }
      : { kind: 'unknown-user' };
  };

  const routeLocal = (local: string, domain: string): RouteResult => {
    const resolved = resolveLocal(book, local, domain);
    const isPostmaster = local.toLowerCase() === 'postmaster';
    if (resolved && resolved.local.length + resolved.remote.length === 0 && resolved.loop) {
      // RFC 5321 4.5.1: postmaster is accepted whatever the aliases do.
      return isPostmaster ? postmasterFallback(domain) : { kind: 'routing-loop', loop: resolved.loop };
    }
    if (resolved) {
      return {
        kind: 'accept',
        local: resolved.local.map((accountId) => ({ accountId })),
        remote: resolved.remote,
        ...(resolved.remote.length > 0 ? { forwardedBy: domain } : {}),
      };
    }
    if (isPostmaster) return postmasterFallback(domain);
    return { kind: 'unknown-user' };
  };

  const routeSrs = (srs: SrsService, local: string): RouteResult => {
    const reversed = srs.reverse(local);
    if (reversed.kind !== 'ok') return { kind: 'unknown-user' };
    const original = splitAddress(reversed.address);
    if (!original) return { kind: 'unknown-user' };
    if (isLocalDomain(original.domain)) {
      // One of our own senders (or a chain back to us): delivered like any local address, never re-reversed.
      const route = routeLocal(original.local, original.domain);
      return route.kind === 'accept' ? { ...route, bounceOnly: true } : route;
    }
    return { kind: 'accept', local: [], remote: [reversed.address], bounceOnly: true };
  };

  return (address, authenticatedAs) => {
    const trimmed = address.trim();
    if (!trimmed.includes('@')) {
      if (trimmed.toLowerCase() !== 'postmaster') return { kind: 'unknown-user' };
      const hostname = options.hostname.toLowerCase();
      const domain = isLocalDomain(hostname) ? hostname : store.listDomains()[0];
      return domain === undefined ? { kind: 'unknown-user' } : routeLocal('postmaster', domain);
    }
    const parts = splitAddress(trimmed);
    if (!parts) return { kind: 'unknown-user' };
    const literal = parts.domain.startsWith('[');
    if (!literal && isLocalDomain(parts.domain)) {
      if (options.srs && isSrsLocalPart(parts.local)) return routeSrs(options.srs, parts.local);
      return routeLocal(parts.local, parts.domain);
    }
    // Not ours: only authenticated users may relay (RFC 5321 3.6.2: no open relay).
    if (authenticatedAs === null) return { kind: 'relay-denied' };
    return { kind: 'accept', local: [], remote: [`${parts.local}@${parts.domain}`] };
  };
}
