// The JMAP Mail (RFC 8621), Submission and VacationResponse methods and capabilities, as the engine's registry entries.
import type { Logger } from '../../observability/logger.js';
import type { StorageLevel } from '../../store/free-space.js';
import type { Store } from '../../store/store.js';
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

/** What the mail methods need from the server; built once in http/server.ts. */
export interface MailMethodDeps {
  store: Store;
  logger: Logger;
  /** The server's name (config `hostname`): Message-IDs, Received headers, DSNs. */
  hostname: string;
  now: () => Date;
  /** data_dir's free-space floor ([limits] min_free_space): Email/set create gets overQuota below it. */
  storage?: StorageLevel;
}

/**
 * The capabilities the mail methods add to the session resource (RFC 8621 1.3, 7.1, 8.1). Each
 * type's file adds its own; the session lists one only once a method of it is registered.
 */
export function mailCapabilities(_deps: MailMethodDeps): CapabilitySpec[] {
  const specs: CapabilitySpec[] = [];
  specs.push(mailCapability());
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
  return methods;
}
