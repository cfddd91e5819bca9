// The exclusive per-account maildrop lock of RFC 1939 4, held in process while a POP3 session is in TRANSACTION.

/**
 * One lock per account id. RFC 1939 4 asks the server to "acquire an exclusive-access lock on the
 * maildrop" so two POP3 sessions never see (and delete from) the same messages at once. The lock lives
 * in this process's memory: a crash releases it by itself, which a lock file would not. (Several
 * Mailroom nodes on one store would need it in the store; see DESIGN.md.)
 */
export class MaildropLocks {
  private readonly held = new Set<number>();

  /** Takes the lock, or returns null when another session holds it. The release function is idempotent. */
  tryAcquire(accountId: number): (() => void) | null {
    if (this.held.has(accountId)) return null;
    this.held.add(accountId);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(accountId);
    };
  }

  isLocked(accountId: number): boolean {
    return this.held.has(accountId);
  }

  get size(): number {
    return this.held.size;
  }
}
