// Email/parse (RFC 8621 4.9): uploaded messages and message/rfc822 parts as Email objects, without storing them.
import type { MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { MAIL_CAPABILITY } from './capability.js';
import { looksLikeMessage, mailBlobResolver, readBlob } from './email-blobs.js';
import { DEFAULT_EMAIL_PROPERTIES, METADATA, parseOptions, renderEmail } from './email-get.js';
import type { MailMethodDeps } from './index.js';

/** RFC 8621 4.9 default properties: the header and body ones (metadata is null for a parsed blob). */
const PARSE_DEFAULTS = DEFAULT_EMAIL_PROPERTIES.filter((p) => !METADATA.includes(p));

export function emailParse(deps: MailMethodDeps): MethodHandler {
  const blobs = mailBlobResolver(deps.store);
  return {
    capability: MAIL_CAPABILITY,
    account: 'read',
    async handle(args, ctx) {
      const account = ctx.account!;
      const { blobIds } = args;
      if (!Array.isArray(blobIds) || !blobIds.every((b) => typeof b === 'string')) {
        throw new MethodError('invalidArguments', '"blobIds" must be an array of blob ids');
      }
      const options = parseOptions(args, PARSE_DEFAULTS);
      const parsed: Record<string, unknown> = {};
      const notParsable: string[] = [];
      const notFound: string[] = [];
      for (const blobId of new Set(blobIds as string[])) {
        const blob = await blobs.open(account.storeId, blobId);
        if (!blob) {
          notFound.push(blobId);
          continue;
        }
        const data = await readBlob(blob);
        if (!looksLikeMessage(data)) {
          notParsable.push(blobId);
          continue;
        }
        const record = {
          id: '',
          messageId: 0,
          blobId,
          threadId: '',
          mailboxIds: [],
          keywords: [],
          size: data.length,
          receivedAt: new Date(0),
          preview: null,
        };
        const email = renderEmail(record, data, {
          ...options,
          properties: options.properties.filter((p) => !METADATA.includes(p)),
        });
        delete email.id;
        // RFC 8621 4.9: id, mailboxIds, keywords, receivedAt and threadId are null for a parsed Email.
        for (const p of options.properties) {
          if (p === 'blobId') email.blobId = blobId;
          else if (p === 'size') email.size = data.length;
          else if (METADATA.includes(p)) email[p] = null;
        }
        parsed[blobId] = email;
      }
      return {
        accountId: account.id,
        parsed: Object.keys(parsed).length > 0 ? parsed : null,
        notParsable: notParsable.length > 0 ? notParsable : null,
        notFound: notFound.length > 0 ? notFound : null,
      };
    },
  };
}
