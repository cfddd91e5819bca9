// The addresses an account sends and receives as: its own and the aliases that resolve to it (JMAP Identities, vacation).
import { senderOwnedBy } from '../mail/submission.js';
import type { Store } from '../store/store.js';
import { addressBookOf } from './router.js';

/**
 * The account's own address and every alias (not a catch-all: that is a whole domain) that the submission
 * rule (mail/submission.ts senderOwnedBy, the one SMTP's MAIL FROM uses) grants it, lower case, own first.
 * Read from the store on each call, so an alias an admin adds counts at once.
 */
export function ownAddresses(store: Store, address: string): string[] {
  const book = addressBookOf(store);
  const out = [address.toLowerCase()];
  for (const alias of store.listAliases()) {
    if (alias.source.startsWith('@')) continue;
    const source = alias.source.toLowerCase();
    if (!out.includes(source) && senderOwnedBy(book, source, address)) out.push(source);
  }
  return out;
}
