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
}
