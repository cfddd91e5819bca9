// Session ids for log lines (`session` in every line of one connection): 12 hex digits from a pooled CSPRNG.
import { pooledRandomBytes } from '../queue/queue-id.js';

const random = pooledRandomBytes();

/**
 * A new connection's id. One crypto.randomBytes(6) per connection cost ~14 us of the main thread here (a
 * Buffer, then OpenSSL's RAND_bytes under its lock), ~5% of a plain IMAP connect + LOGOUT; drawn from a
 * pool instead, the bytes are the same generator's. Ids only tell log lines apart: not secret, not a token.
 */
export function newSessionId(): string {
  return random(6).toString('hex');
}
