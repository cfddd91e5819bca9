// The urn:ietf:params:jmap:mail capability (RFC 8621 1.3.1): its URN and the per-account object with the mail limits.
import { JMAP_MAIL_LIMITS } from '../../config/limits.js';
import type { CapabilitySpec } from '../core/session.js';

export const MAIL_CAPABILITY = 'urn:ietf:params:jmap:mail';

/**
 * The Email/query sorts the server implements (RFC 8621 4.4.2), advertised as emailQuerySortOptions.
 * Kept in step with Email/query's comparator list (email-query.ts).
 */
export const EMAIL_QUERY_SORT_OPTIONS = [
  'receivedAt',
  'sentAt',
  'size',
  'from',
  'to',
  'subject',
  'hasKeyword',
  'allInThreadHaveKeyword',
  'someInThreadHaveKeyword',
] as const;

/** RFC 8621 1.3.1: the session object is empty; the account object carries the limits. */
export function mailCapability(): CapabilitySpec {
  return {
    urn: MAIL_CAPABILITY,
    session: {},
    account: (account) => ({
      maxMailboxesPerEmail: JMAP_MAIL_LIMITS.maxMailboxesPerEmail,
      maxMailboxDepth: JMAP_MAIL_LIMITS.maxMailboxDepth,
      maxSizeMailboxName: JMAP_MAIL_LIMITS.maxSizeMailboxName,
      maxSizeAttachmentsPerEmail: JMAP_MAIL_LIMITS.maxSizeAttachmentsPerEmail,
      emailQuerySortOptions: [...EMAIL_QUERY_SORT_OPTIONS],
      // The owner of a personal account creates top-level mailboxes as IMAP CREATE does.
      mayCreateTopLevelMailbox: !account.isReadOnly,
    }),
  };
}
