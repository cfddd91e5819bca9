// SRS for alias forwarding over the store: the key made on first use, the rewrite decision, and reversal.
import { randomBytes } from 'node:crypto';
import { srsForward, srsReverse, type SrsReversal } from '../sender-auth/srs.js';
import { splitAddress } from './aliases.js';

export interface SrsService {
  /** The sender for mail our domain `forwarderDomain` forwards elsewhere; see forwardSender below. */
  forward(sender: string, forwarderDomain: string): string;
  /** Reverses the local part of an address in one of our domains (sender-auth/srs.ts srsReverse). */
  reverse(local: string): SrsReversal;
}

export interface SrsDeps {
  /** The SRS key: PolicyStore.secret('srs', ...) (read once, made on first use, never logged). */
  secret(name: string, create: () => Buffer): Buffer;
  isLocalDomain(domain: string): boolean;
  now(): Date;
}

/** The store's secret name for the SRS HMAC key. */
export const SRS_SECRET = 'srs';

/**
 * Rewrites only senders of other domains (as postsrsd's exclusion of local domains): a sender in one of
 * our domains passes SPF from our IP already, and its bounces come straight back. The null sender and
 * address literals are never rewritten (nothing to encode, nothing SPF can check).
 */
export function createSrsService(deps: SrsDeps): SrsService {
  const key = () => deps.secret(SRS_SECRET, () => randomBytes(32));
  return {
    forward(sender, forwarderDomain) {
      const parts = splitAddress(sender);
      if (!parts || parts.domain.startsWith('[') || deps.isLocalDomain(parts.domain)) return sender;
      // A quoted local part ("a b"@x) cannot be embedded in an unquoted SRS local part: left as it is.
      if (parts.local.startsWith('"')) return sender;
      return srsForward(sender, forwarderDomain, { key: key(), now: deps.now() });
    },
    reverse: (local) => srsReverse(local, { key: key(), now: deps.now() }),
  };
}
