// The JMAP Mail (RFC 8621), Submission and VacationResponse methods and capabilities, as the engine's registry entries.
import type { SubmissionLimits } from '../../abuse/rate-limits.js';
import { DEFAULT_LIMITS } from '../../config/limits.js';
import type { Logger } from '../../observability/logger.js';
import type { StorageLevel } from '../../store/free-space.js';
import type { DeliveryRequest, Store } from '../../store/store.js';
import type { MethodHandler } from '../core/engine.js';
import type { CapabilitySpec } from '../core/session.js';
import { mailCapability } from './capability.js';
import {
  mailboxChanges,
  MailboxCountCache,
  mailboxGet,
  mailboxQuery,
  mailboxQueryChanges,
} from './mailbox.js';
import { mailboxSet } from './mailbox-set.js';
import { threadChanges, threadGet } from './thread.js';
import { emailGet } from './email-get.js';
import { emailParse } from './email-parse.js';
import { emailCopy, emailImport } from './email-import.js';
import { emailChangesHandler } from './email-changes.js';
import { emailQueryHandlers } from './email-query.js';
import { emailSetHandler } from './email-set.js';
import { searchSnippetHandler } from './search-snippet.js';
import { createQueueIdGenerator } from '../../queue/queue-id.js';
import { identityChanges, identityGet, identitySet, SUBMISSION_CAPABILITY } from './identity.js';
import { submissionSet, type SubmissionDeps } from './submission.js';
import {
  submissionChanges,
  submissionGet,
  submissionQuery,
  submissionQueryChanges,
} from './submission-query.js';
import { VACATION_CAPABILITY, vacationGet, vacationSet } from './vacation.js';

/** What the mail methods need from the server; built once in http/server.ts. */
export interface MailMethodDeps {
  store: Store;
  logger: Logger;
  /** The server's name (config `hostname`): Message-IDs, Received headers, DSNs. */
  hostname: string;
  now: () => Date;
  /** data_dir's free-space floor ([limits] min_free_space): Email/set create gets overQuota below it. */
  storage?: StorageLevel;
  /**
   * Local delivery and the queue for EmailSubmission (serve.ts: store.deliver behind the vacation
   * responder, so mail sent over JMAP to a local user on vacation is answered too). Default store.deliver.
   */
  deliver?: (request: DeliveryRequest) => Promise<void>;
  /** Queue ids for submitted messages (queue/queue-id.ts); default a generator of its own. */
  newQueueId?: () => string;
  /** [limits] max_recipients and max_message_size, the same as SMTP submission's. */
  maxRecipients?: number;
  maxMessageSize?: number;
  /** Per-account messages and recipients per hour, shared with SMTP ([limits] submission_*_per_hour). */
  submissionLimits?: SubmissionLimits;
}

function submissionDeps(deps: MailMethodDeps): SubmissionDeps {
  return {
    store: deps.store,
    hostname: deps.hostname,
    now: deps.now,
    deliver: deps.deliver ?? ((request) => deps.store.deliver(request)),
    newQueueId: deps.newQueueId ?? createQueueIdGenerator(() => deps.now().getTime()),
    maxRecipients: deps.maxRecipients ?? DEFAULT_LIMITS.maxRecipients,
    maxMessageSize: deps.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize,
    ...(deps.submissionLimits ? { submissionLimits: deps.submissionLimits } : {}),
  };
}

/**
 * The capabilities the mail methods add to the session resource (RFC 8621 1.3, 7.1, 8.1). Each
 * type's file adds its own; the session lists one only once a method of it is registered.
 */
export function mailCapabilities(deps: MailMethodDeps): CapabilitySpec[] {
  const specs: CapabilitySpec[] = [];
  specs.push(mailCapability());
  // RFC 8621 7.1: no delayed send (0); the SMTP extensions the queue's client carries a submission's
  // envelope parameters with (RFC 3461 DSN; RFC 6152 8BITMIME; RFC 6531 SMTPUTF8; RFC 1870 SIZE).
  specs.push({
    urn: SUBMISSION_CAPABILITY,
    session: {},
    account: () => ({
      maxDelayedSend: 0,
      submissionExtensions: {
        DSN: [],
        '8BITMIME': [],
        SMTPUTF8: [],
        SIZE: [String(deps.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize)],
      },
    }),
  });
  specs.push({ urn: VACATION_CAPABILITY, session: {}, account: () => ({}) });
  return specs;
}

/**
 * Every mail method by name ("Mailbox/get", ...). Each type lives in its own file in this folder
 * (mailbox.ts, thread.ts, email-get.ts, email-query.ts, email-set.ts, identity.ts, submission.ts,
 * vacation.ts, ...) and is added here with one line.
 */
export function mailMethods(deps: MailMethodDeps): Map<string, MethodHandler> {
  const methods = new Map<string, MethodHandler>();
  const counts = new MailboxCountCache();
  methods.set('Mailbox/get', mailboxGet(deps, counts));
  methods.set('Mailbox/changes', mailboxChanges(deps));
  methods.set('Mailbox/query', mailboxQuery(deps));
  methods.set('Mailbox/queryChanges', mailboxQueryChanges);
  methods.set('Mailbox/set', mailboxSet(deps));
  methods.set('Thread/get', threadGet(deps));
  methods.set('Thread/changes', threadChanges(deps));
  methods.set('Email/get', emailGet(deps));
  methods.set('Email/parse', emailParse(deps));
  methods.set('Email/import', emailImport(deps));
  methods.set('Email/copy', emailCopy);
  methods.set('Email/changes', emailChangesHandler(deps.store));
  for (const [name, h] of Object.entries(emailQueryHandlers(deps.store))) methods.set(name, h);
  methods.set('Email/set', emailSetHandler(deps));
  methods.set('SearchSnippet/get', searchSnippetHandler(deps.store));
  const { store } = deps;
  methods.set('Identity/get', identityGet(store));
  methods.set('Identity/changes', identityChanges(store));
  methods.set('Identity/set', identitySet(store));
  methods.set('EmailSubmission/get', submissionGet(store));
  methods.set('EmailSubmission/changes', submissionChanges(store));
  methods.set('EmailSubmission/query', submissionQuery(store));
  methods.set('EmailSubmission/queryChanges', submissionQueryChanges(store));
  methods.set('EmailSubmission/set', submissionSet(submissionDeps(deps)));
  methods.set('VacationResponse/get', vacationGet(store));
  methods.set('VacationResponse/set', vacationSet(store));
  return methods;
}
