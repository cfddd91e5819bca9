// The urn:ietf:params:jmap:mail capability (RFC 8621 1.3.1): its URN and the per-account object the session resource lists.
import { JMAP_EMAIL_CREATE_LIMITS } from '../../config/limits.js';
import type { CapabilitySpec } from '../core/session.js';

export const MAIL_CAPABILITY = 'urn:ietf:params:jmap:mail';

/** RFC 8621 4.4.2: every sort property Email/query supports (email-filter.ts parseEmailSort). */
export const EMAIL_QUERY_SORT_OPTIONS = [
  'receivedAt',
  'size',
  'from',
  'to',
  'subject',
  'sentAt',
  'hasKeyword',
  'allInThreadHaveKeyword',
  'someInThreadHaveKeyword',
] as const;

/**
 * RFC 8621 1.3.1. The session-level object is empty (the RFC defines none); the account object says what
 * an account allows. maxMailboxesPerEmail/maxMailboxDepth null: no limit beyond IMAP's own.
 */
export function mailCapability(): CapabilitySpec {
  return {
    urn: MAIL_CAPABILITY,
    session: {},
    account: () => ({
      maxMailboxesPerEmail: null,
      maxMailboxDepth: null,
      maxSizeMailboxName: 255,
      maxSizeAttachmentsPerEmail: JMAP_EMAIL_CREATE_LIMITS.maxSizeAttachmentsPerEmail,
      emailQuerySortOptions: [...EMAIL_QUERY_SORT_OPTIONS],
      mayCreateTopLevelMailbox: true,
    }),
  };
}
