// Mailroom's vendor JMAP capability for message HTML: Email/sanitizedHtml returns an email's HTML made safe to show (README "Web mail").
import { WEB_HTML_LIMITS } from '../../config/limits.js';
import { sanitizedMessageHtml, type MessageHtmlLimits } from '../../mail/message-html.js';
import type { MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import type { CapabilitySpec } from '../core/session.js';

/** Vendor capabilities use a URN or URL the vendor controls (RFC 8620 2, "capabilities"). */
export const HTML_CAPABILITY = 'urn:mailroom:params:jmap:html';

/**
 * Where the method reads a message: JMAP Email id -> the raw RFC 5322 bytes, or null when the account
 * has no such email. JMAP Mail (src/jmap/mail/) provides it; until then nothing is found.
 */
export interface RawMessageSource {
  rawMessage(storeAccountId: number, emailId: string): Promise<Uint8Array | null>;
}

export const NO_MESSAGES: RawMessageSource = { rawMessage: () => Promise.resolve(null) };

/** The capability: the session says how many ids one call takes; every account supports it. */
export function htmlCapability(limits: MessageHtmlLimits = WEB_HTML_LIMITS): CapabilitySpec {
  return {
    urn: HTML_CAPABILITY,
    session: { maxIdsPerCall: limits.maxIdsPerCall, maxInlineImageBytes: limits.maxInlineImageBytes },
    account: () => ({}),
  };
}

/**
 * Email/sanitizedHtml {accountId, ids, allowRemote?} -> {accountId, list: [{id, html, blockedRemote}],
 * notFound}. `html` is the email's HTML body sanitised (no scripts, handlers, forms, frames, javascript:
 * or data: URLs; links open a new tab without opener or referrer; cid: images inlined as data: URIs)
 * with remote images and CSS url()s removed unless `allowRemote` is true; `blockedRemote` counts them,
 * so a client can offer "load remote content". `html` is null when the email has no HTML body. The
 * server never fetches anything remote itself.
 */
export function sanitizedHtmlHandler(
  source: RawMessageSource,
  limits: MessageHtmlLimits = WEB_HTML_LIMITS,
): MethodHandler {
  return {
    capability: HTML_CAPABILITY,
    account: 'read',
    async handle(args, ctx) {
      for (const key of Object.keys(args)) {
        if (!['accountId', 'ids', 'allowRemote'].includes(key))
          throw new MethodError('invalidArguments', `unknown argument "${key}"`);
      }
      const { ids, allowRemote = false } = args;
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
        throw new MethodError('invalidArguments', '"ids" must be a list of email ids');
      if (typeof allowRemote !== 'boolean')
        throw new MethodError('invalidArguments', '"allowRemote" must be true or false');
      if (ids.length > limits.maxIdsPerCall)
        throw new MethodError('requestTooLarge', `at most ${limits.maxIdsPerCall} ids in one call`);
      const account = ctx.account!;
      const list: Record<string, unknown>[] = [];
      const notFound: string[] = [];
      for (const id of new Set(ids as string[])) {
        const raw = await source.rawMessage(account.storeId, id);
        if (raw === null) {
          notFound.push(id);
          continue;
        }
        const result = sanitizedMessageHtml(raw, allowRemote, limits);
        list.push({ id, html: result?.html ?? null, blockedRemote: result?.blockedRemote ?? 0 });
      }
      return { accountId: account.id, list, notFound };
    },
  };
}
