// The store side of sending over JMAP: Identities (RFC 8621 6), EmailSubmissions (7), the VacationResponse (8) and its replies.
/*
 * Every write records its change in the account's JMAP change log in the same transaction (jmap-store.ts),
 * so Identity/changes and EmailSubmission/changes see it and the `changes` event fires after the commit.
 * Ids: object-ids.ts 'identity' ("I…") and 'submission' ("S…"); the VacationResponse is the singleton.
 */

/** An EmailAddress object (RFC 8621 4.1.2.3). */
export interface AddressValue {
  name: string | null;
  email: string;
}

/** The properties of an Identity a client may set (RFC 8621 6). */
export interface IdentityFields {
  name: string;
  replyTo: AddressValue[] | null;
  bcc: AddressValue[] | null;
  textSignature: string;
  htmlSignature: string;
}

export interface IdentityRecord extends IdentityFields {
  id: string;
  email: string;
  /** Made by the store for the account's address or one of its aliases (mayDelete false). */
  auto: boolean;
}

/** The SMTP envelope of a submission (RFC 8621 7 Envelope). */
export interface SubmissionEnvelope {
  mailFrom: { email: string; parameters: Record<string, string | null> | null };
  rcptTo: Array<{ email: string; parameters: Record<string, string | null> | null }>;
}

/** One recipient's status (RFC 8621 7 DeliveryStatus), kept up to date by the queue. */
export interface RecipientStatus {
  smtpReply: string;
  delivered: 'queued' | 'yes' | 'no' | 'unknown';
}

export interface SubmissionRecord {
  id: string;
  identityId: string;
  emailId: string;
  threadId: string;
  envelope: SubmissionEnvelope;
  sendAt: Date;
  /** The queue id of the message (Received header, logs; the queue updates deliveryStatus by it). */
  queueId: string;
  deliveryStatus: Record<string, RecipientStatus>;
}

/** The VacationResponse object (RFC 8621 8) without its fixed id. */
export interface VacationRecord {
  isEnabled: boolean;
  fromDate: Date | null;
  toDate: Date | null;
  subject: string | null;
  textBody: string | null;
  htmlBody: string | null;
}

export const VACATION_DEFAULT: VacationRecord = {
  isEnabled: false,
  fromDate: null,
  toDate: null,
  subject: null,
  textBody: null,
  htmlBody: null,
};

export interface SendingStore {
  /**
   * Every Identity of the account. First the automatic ones are brought in line with `addresses` (the
   * account's address and the aliases that resolve to it, now): one is made for a new address and an
   * address no longer the account's loses its identity (each a recorded change), so an alias an admin adds
   * or removes shows up without a restart.
   */
  identities(accountId: number, addresses: readonly string[]): IdentityRecord[];
  createIdentity(accountId: number, email: string, fields: IdentityFields): IdentityRecord;
  /** Replaces the given fields; false when the id is not an Identity of the account. */
  updateIdentity(accountId: number, id: string, fields: Partial<IdentityFields>): boolean;
  /** False when the id is not an Identity of the account. */
  destroyIdentity(accountId: number, id: string): boolean;

  /** Records a submission that was just queued/delivered, with its recipients' first status. */
  createSubmission(accountId: number, submission: Omit<SubmissionRecord, 'id'>): SubmissionRecord;
  /** Submissions by id in the order asked (null for an unknown id), or all of the account when `ids` is null, by sendAt. */
  getSubmissions(accountId: number, ids: readonly string[] | null): Array<SubmissionRecord | null>;
  /** Forgets a submission (RFC 8621 7.5 destroy: the message itself is not recalled). */
  destroySubmission(accountId: number, id: string): boolean;

  vacation(accountId: number): VacationRecord;
  setVacation(accountId: number, vacation: VacationRecord): void;
  /**
   * RFC 3834 2 ("once per period"): true and the time recorded when `sender` got no reply from this
   * account since `since`; false otherwise. Check and record are one transaction, so two deliveries at
   * once send one reply.
   */
  claimVacationReply(accountId: number, sender: string, now: Date, since: Date): boolean;
}
