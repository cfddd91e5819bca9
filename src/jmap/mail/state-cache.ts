// Answers computed from an account's store rows, kept while the account's state string for that type is unchanged.
import { JMAP_STATE_CACHE } from '../../config/limits.js';

/*
 * Why: a client polling its message list (issue 9's bench: 20 clients, the newest 50 of 100,000) asks
 * the same Email/query and Email/get again and again; their SQL was ~40% of the CPU of a page.
 * RFC 8620 5.1: a type's state string changes whenever any object of that type changes, and the store
 * records a change for every write that alters an Email (created, keywords, mailboxes, destroyed; a
 * thread merge re-creates Emails), in the same transaction. So an answer computed from rows read
 * after the state was read stays right while that state is the current one. The methods read the state
 * first and look up with it: a change committed in between makes the cached rows newer than their key,
 * never older (the next request reads the new state and misses).
 * Per account one state: the first lookup with another state drops that account's entries.
 */
export class StateCache<V> {
  private readonly accounts = new Map<number, { state: string; entries: Map<string, V> }>();

  constructor(
    private readonly maxAccounts: number = JMAP_STATE_CACHE.accounts,
    private readonly maxEntries: number = JMAP_STATE_CACHE.entriesPerAccount,
  ) {}

  get(account: number, state: string, key: string): V | undefined {
    const a = this.accounts.get(account);
    return a !== undefined && a.state === state ? a.entries.get(key) : undefined;
  }

  set(account: number, state: string, key: string, value: V): void {
    let a = this.accounts.get(account);
    if (a === undefined || a.state !== state) {
      this.accounts.delete(account);
      // The least recently filled account goes first (a Map iterates in insertion order).
      if (this.accounts.size >= this.maxAccounts) {
        this.accounts.delete(this.accounts.keys().next().value as number);
      }
      this.accounts.set(account, (a = { state, entries: new Map() }));
    }
    if (a.entries.size >= this.maxEntries) a.entries.delete(a.entries.keys().next().value as string);
    a.entries.set(key, value);
  }

  /** Entries held for `account` (tests). */
  size(account: number): number {
    return this.accounts.get(account)?.entries.size ?? 0;
  }
}
