// The mailbox side of the Store beyond delivery: what IMAP and POP3 do to messages and folders.
// Grown by the access protocols (issue 4); every backend implements it (see test/contract/).

export interface MailStore {
  /**
   * Removes the given UIDs from a mailbox (POP3 QUIT in UPDATE state, IMAP EXPUNGE). Each removal
   * bumps the mailbox's MODSEQ and is recorded for QRESYNC VANISHED (RFC 7162 3.2.10); UIDs that are
   * not there are ignored. Returns the UIDs actually removed, ascending. Bodies no longer referenced
   * anywhere are collected. Emits `expunge` after the commit.
   */
  expunge(mailboxId: number, uids: readonly number[]): number[];
}
