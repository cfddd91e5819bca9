// EmailSubmission/set (RFC 8621 7.5): sends a stored Email through the submission path (sender rule, Message-ID/Date, the queue).
import { SMTP_SIZES } from '../../config/limits.js';
import type { SubmissionLimits } from '../../abuse/rate-limits.js';
import { normalizeAddress, splitAddress } from '../../delivery/aliases.js';
import { addressBookOf, createRouter } from '../../delivery/router.js';
import { HeaderScanner, senderOwnedBy, submissionHeaders } from '../../mail/submission.js';
import { rfc5322Date } from '../../mail/received-header.js';
import type { RecipientStatus, SubmissionEnvelope, SubmissionRecord } from '../../store/sending-store.js';
import { readUnlessExpunged } from '../../store/read-unless-expunged.js';
import type { DeliveryRequest, EnvelopeRecipient, Envelope, Store } from '../../store/store.js';
import type { MethodContext, MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { isObject } from '../core/request.js';
import { accountIdentities, SUBMISSION_CAPABILITY } from './identity.js';
import { setArgs, storeAccount } from './sending-common.js';
import { setError, SetError, setResponse } from './set-errors.js';
import { checkIfInState } from './standard.js';
import { applyImplicitEmailSet } from './submission-email-set.js';
import { deriveEnvelope, headerAddresses, outgoingMessage } from './submission-message.js';

/** What sending needs from the server (index.ts MailMethodDeps, filled by http/server.ts). */
export interface SubmissionDeps {
  store: Store;
  hostname: string;
  now: () => Date;
  newQueueId: () => string;
  /** Local delivery and the queue: store.deliver, with the vacation responder in the server. */
  deliver: (request: DeliveryRequest) => Promise<void>;
  maxRecipients: number;
  maxMessageSize: number;
  /** Per-account messages and recipients per hour, shared with SMTP submission; absent: none. */
  submissionLimits?: SubmissionLimits;
}

/** Envelope parameters Mailroom's queue carries on (RFC 3461 DSN); anything else is refused. */
const MAIL_PARAMETERS = new Set(['RET', 'ENVID']);
const RCPT_PARAMETERS = new Set(['NOTIFY', 'ORCPT']);

const refuse = (type: string, description: string, extra: Record<string, unknown> = {}) =>
  new SetError(type, description, extra);
const invalid = (property: string, description: string) =>
  refuse('invalidProperties', description, { properties: [property] });

function parameters(value: unknown, allowed: ReadonlySet<string>): Record<string, string | null> | null {
  if (value === null || value === undefined) return null;
  if (!isObject(value)) throw invalid('envelope', 'envelope parameters must be an object or null');
  for (const [k, v] of Object.entries(value)) {
    if (!allowed.has(k.toUpperCase()) || !(v === null || typeof v === 'string')) {
      throw invalid('envelope', `the envelope parameter ${k} is not supported`);
    }
  }
  return value as Record<string, string | null>;
}

/** The client's Envelope object (RFC 8621 7), shape-checked. */
function envelopeOf(value: unknown): SubmissionEnvelope {
  if (!isObject(value) || !isObject(value.mailFrom) || !Array.isArray(value.rcptTo)) {
    throw invalid('envelope', 'envelope must have mailFrom and rcptTo');
  }
  const address = (a: unknown, allowed: ReadonlySet<string>) => {
    if (!isObject(a) || typeof a.email !== 'string')
      throw invalid('envelope', 'an envelope address needs "email"');
    return { email: a.email, parameters: parameters(a.parameters, allowed) };
  };
  return {
    mailFrom: address(value.mailFrom, MAIL_PARAMETERS),
    rcptTo: value.rcptTo.map((r) => address(r, RCPT_PARAMETERS)),
  };
}

const param = (p: Record<string, string | null> | null, name: string): string | undefined => {
  if (!p) return undefined;
  for (const [k, v] of Object.entries(p)) if (k.toUpperCase() === name && v !== null) return v;
  return undefined;
};

/** A plausible mailbox for SMTP (RFC 5321 4.1.2): local@domain, no spaces or brackets, within the size limits. */
function isAddress(email: string): boolean {
  const parts = splitAddress(email);
  return (
    parts !== null &&
    email.length <= SMTP_SIZES.path &&
    !/[\s<>(),;:\\"[\]]/.test(parts.local) &&
    /^[^\s@<>]+$/.test(parts.domain)
  );
}

/** Sends one created submission; the SetError conditions are RFC 8621 7.5's. */
async function send(
  deps: SubmissionDeps,
  ctx: MethodContext,
  object: Record<string, unknown>,
): Promise<Omit<SubmissionRecord, 'id'>> {
  const { store } = deps;
  const accountId = storeAccount(ctx);
  const account = store.getAccountById(accountId);
  if (!account) throw new MethodError('accountNotFound', 'the account is gone');
  for (const key of Object.keys(object)) {
    if (!['identityId', 'emailId', 'envelope'].includes(key)) {
      // sendAt, undoStatus, deliveryStatus, ...: server-set, or delayed send we do not offer (maxDelayedSend 0).
      throw invalid(key, `"${key}" cannot be set on create`);
    }
  }
  const identityId = typeof object.identityId === 'string' ? ctx.resolveId(object.identityId) : null;
  const identity = accountIdentities(store, ctx).find((i) => i.id === identityId);
  if (!identity) throw invalid('identityId', 'no such Identity');
  const emailId = typeof object.emailId === 'string' ? ctx.resolveId(object.emailId) : null;
  const [email] = emailId === null ? [null] : store.jmap.getEmails(accountId, [emailId]);
  if (!email) throw invalid('emailId', 'no such Email');

  // Expunged elsewhere (IMAP, another JMAP request) and collected between the look-up and the read:
  // the Email is gone, as if the look-up had not found it.
  const bytes = await readUnlessExpunged(store, email.messageId);
  if (!bytes) throw invalid('emailId', 'no such Email');
  const message = outgoingMessage(bytes);
  const book = addressBookOf(store);
  const from = headerAddresses(message.headers, 'from');
  if (from.length === 0)
    throw refuse('invalidEmail', 'the Email has no From address', { properties: ['from'] });
  // RFC 8621 7.5 forbiddenFrom: the same ownership rule as SMTP submission's MAIL FROM (553 5.7.1).
  const notOwned = from.filter((a) => !senderOwnedBy(book, a, account.address));
  if (notOwned.length > 0) throw refuse('forbiddenFrom', `you may not send as ${notOwned.join(', ')}`);

  const envelope =
    object.envelope === undefined || object.envelope === null
      ? deriveEnvelope(message.headers)
      : envelopeOf(object.envelope);
  if (!senderOwnedBy(book, envelope.mailFrom.email, account.address)) {
    throw refuse(
      'forbiddenMailFrom',
      `you may not use ${envelope.mailFrom.email || '<>'} as the envelope sender`,
    );
  }
  if (envelope.rcptTo.length === 0) throw refuse('noRecipients', 'the envelope has no recipients');
  if (envelope.rcptTo.length > deps.maxRecipients) {
    throw refuse('tooManyRecipients', `at most ${deps.maxRecipients} recipients`, {
      maxRecipients: deps.maxRecipients,
    });
  }
  const route = createRouter(store, { hostname: deps.hostname });
  const local = new Map<number, { accountId: number }>();
  const remote = new Map<string, EnvelopeRecipient>();
  const status: Record<string, RecipientStatus> = {};
  const invalidRecipients: string[] = [];
  for (const r of envelope.rcptTo) {
    const routed = isAddress(r.email) ? route(r.email, account.address) : null;
    if (routed?.kind !== 'accept') {
      invalidRecipients.push(r.email);
      continue;
    }
    for (const l of routed.local) local.set(l.accountId, l);
    const notify = param(r.parameters, 'NOTIFY');
    const orcpt = param(r.parameters, 'ORCPT');
    for (const address of routed.remote) {
      remote.set(address, {
        address,
        ...(notify ? { notify: notify.toUpperCase().split(',') } : {}),
        ...(orcpt ? { orcpt } : {}),
      });
      status[address] = { delivered: 'queued', smtpReply: '250 2.0.0 Queued' };
    }
    // Delivered into the mailbox before the response (store.deliver resolves once durable).
    if (routed.local.length > 0) status[r.email] = { delivered: 'yes', smtpReply: '250 2.0.0 Delivered' };
  }
  if (invalidRecipients.length > 0) {
    throw refuse('invalidRecipients', 'some recipients are not valid', { invalidRecipients });
  }

  // The SMTP submission limits (451 4.7.1 there): RFC 8621 7.5 forbiddenToSend, "not permitted to send
  // right now"; the description says why and that it passes.
  const limits = deps.submissionLimits;
  if (limits && !limits.messageAllowed(account.address, 'jmap')) {
    throw refuse('forbiddenToSend', 'too many messages sent in the last hour, try again later');
  }
  if (limits && !limits.recipientsAllowed(account.address, envelope.rcptTo.length, 'jmap')) {
    throw refuse('forbiddenToSend', 'too many recipients in the last hour, try again later');
  }

  const sendAt = deps.now();
  const queueId = deps.newQueueId();
  // RFC 6409 8.2/8.3 as on the submission port: a missing Message-ID and Date are added.
  const scanner = new HeaderScanner();
  scanner.write(message.bytes);
  const added = submissionHeaders(scanner.presence, { queueId, hostname: deps.hostname, date: sendAt });
  const size = message.bytes.length + added.length;
  if (size > deps.maxMessageSize) {
    throw refuse('tooLarge', `the message is larger than ${deps.maxMessageSize} octets`, {
      maxSize: deps.maxMessageSize,
    });
  }
  const smtpUtf8 = [envelope.mailFrom.email, ...envelope.rcptTo.map((r) => r.email)].some((a) =>
    /[^\x00-\x7f]/.test(a),
  );
  const ret = param(envelope.mailFrom.parameters, 'RET')?.toUpperCase();
  const envid = param(envelope.mailFrom.parameters, 'ENVID');
  const smtpEnvelope: Envelope = {
    sender: normalizeAddress(envelope.mailFrom.email) ?? envelope.mailFrom.email,
    ...(ret === 'FULL' || ret === 'HDRS' ? { dsnRet: ret } : {}),
    ...(envid ? { dsnEnvid: envid } : {}),
    ...(smtpUtf8 ? { smtpUtf8: true } : {}),
    ...(message.eightBit ? { body: '8BITMIME' as const } : {}),
  };
  // RFC 5321 4.4 trace: who took the message in, over what, with the queue id (as SMTP's Received).
  const trace = `Received: by ${deps.hostname} (Mailroom) with JMAP id ${queueId};\r\n\t${rfc5322Date(sendAt)}\r\n`;
  await deps.deliver({
    queueId,
    envelope: smtpEnvelope,
    traceHeaders: trace + added,
    body: { kind: 'memory', chunks: [message.bytes], size: message.bytes.length },
    receivedAt: sendAt,
    local: [...local.values()],
    remote: [...remote.values()],
    trace: {
      messageId: scanner.messageId ?? /^Message-ID: (.*)\r\n/m.exec(added)?.[1] ?? null,
      via: 'jmap',
      account: account.address,
      recipients: envelope.rcptTo.map((r) => r.email),
    },
  });
  limits?.record(account.address, envelope.rcptTo.length);
  return {
    identityId: identity.id,
    emailId: email.id,
    threadId: email.threadId,
    envelope,
    sendAt,
    queueId,
    deliveryStatus: status,
  };
}

export function submissionObject(s: SubmissionRecord): Record<string, unknown> {
  return {
    id: s.id,
    identityId: s.identityId,
    emailId: s.emailId,
    threadId: s.threadId,
    envelope: s.envelope,
    sendAt: s.sendAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    // No delayed send (maxDelayedSend 0): a submission is final once created (RFC 8621 7).
    undoStatus: 'final',
    deliveryStatus: Object.fromEntries(
      Object.entries(s.deliveryStatus).map(([k, v]) => [k, { ...v, displayed: 'unknown' }]),
    ),
    dsnBlobIds: [],
    mdnBlobIds: [],
  };
}

export function submissionSet(deps: SubmissionDeps): MethodHandler {
  const { store } = deps;
  return {
    capability: SUBMISSION_CAPABILITY,
    account: 'write',
    async handle(args, ctx) {
      const accountId = storeAccount(ctx);
      const { create, update, destroy } = setArgs(args);
      const oldState = store.jmap.states(accountId).EmailSubmission;
      checkIfInState(args, oldState);
      for (const name of ['onSuccessUpdateEmail', 'onSuccessDestroyEmail'] as const) {
        const v = args[name];
        const ok =
          v === undefined ||
          v === null ||
          (name === 'onSuccessUpdateEmail'
            ? isObject(v) && Object.values(v).every(isObject)
            : Array.isArray(v) && v.every((x) => typeof x === 'string'));
        if (!ok) throw new MethodError('invalidArguments', `"${name}" has the wrong type`);
      }
      const created: Record<string, unknown> = {};
      const notCreated: Record<string, unknown> = {};
      /** Submission id (and "#creationId") -> its Email, for the implicit Email/set. */
      const emailOf = new Map<string, string>();
      for (const [cid, object] of Object.entries(create)) {
        try {
          const sent = await send(deps, ctx, object);
          const record = store.sending.createSubmission(accountId, sent);
          ctx.addCreatedId(cid, record.id);
          emailOf.set(`#${cid}`, record.emailId);
          emailOf.set(record.id, record.emailId);
          created[cid] = { id: record.id, sendAt: submissionObject(record).sendAt, undoStatus: 'final' };
        } catch (error) {
          if (!(error instanceof SetError)) throw error;
          notCreated[cid] = error.toJSON();
        }
      }
      const updated: Record<string, unknown> = {};
      const notUpdated: Record<string, unknown> = {};
      for (const [rawId, patch] of Object.entries(update)) {
        const id = ctx.resolveId(rawId) ?? rawId;
        const [current] = store.sending.getSubmissions(accountId, [id]);
        if (!current) notUpdated[id] = setError('notFound');
        // RFC 8621 7.5: only undoStatus "canceled" may be set, and only while pending; ours are final.
        else if (Object.keys(patch).length === 1 && patch.undoStatus === 'canceled') {
          notUpdated[id] = setError('cannotUnsend', 'the message has already been sent');
        } else
          notUpdated[id] = setError('invalidProperties', 'only undoStatus may be updated', {
            properties: Object.keys(patch),
          });
      }
      const destroyed: string[] = [];
      const notDestroyed: Record<string, unknown> = {};
      for (const rawId of destroy) {
        const id = ctx.resolveId(rawId) ?? rawId;
        if (store.sending.destroySubmission(accountId, id)) destroyed.push(id);
        else notDestroyed[id] = setError('notFound');
      }
      const response = setResponse(ctx.account!.id, oldState, store.jmap.states(accountId).EmailSubmission, {
        created,
        updated,
        destroyed,
        notCreated,
        notUpdated,
        notDestroyed,
      });
      // RFC 8621 7.5: after the submissions, one implicit Email/set for the ones that succeeded.
      const implicit = await applyImplicitEmailSet(
        store,
        ctx,
        emailOf,
        (args.onSuccessUpdateEmail as Record<string, Record<string, unknown>> | null | undefined) ?? null,
        (args.onSuccessDestroyEmail as string[] | null | undefined) ?? null,
      );
      if (implicit) ctx.followUp('Email/set', implicit);
      return response;
    },
  };
}
