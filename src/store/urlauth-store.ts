// URLAUTH access keys (RFC 4467 7: the INTERNAL mechanism's per-mailbox secret): the store keeps them, imap/urlauth.ts uses them.

export interface UrlAuthStore {
  /**
   * The access key of a mailbox, made by `create` and stored on first use (GENURLAUTH). Two sessions
   * asking at once get the same key (the first insert wins). Never logged.
   */
  mailboxKey(mailboxId: number, create: () => Buffer): Buffer;
  /** The key if one was made, else null: verifying a URL never creates a key (URLFETCH, BURL). */
  existingKey(mailboxId: number): Buffer | null;
  /**
   * RESETKEY (RFC 4467 6.2): forgets the keys of one mailbox of the account, or of all its mailboxes
   * when mailboxId is null, durably; every URL made with them stops working at once.
   */
  resetKeys(accountId: number, mailboxId: number | null): void;
  /**
   * How many RESETKEYs have reached this mailbox (its own and its account's), counted in this process: a
   * session with the mailbox selected compares it between commands and reports `* OK [URLMECH ...]`
   * (RFC 4467 6.2: every session of the user with the mailbox selected receives it). Only IMAP sessions
   * reset keys, and they all run in the server process.
   */
  resetCount(accountId: number, mailboxId: number): number;
}
