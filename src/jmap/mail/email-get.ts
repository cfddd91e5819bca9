// Email/get (RFC 8621 4.2): metadata from the store, header forms and body properties from the message, read only when asked for.
import { JMAP_EMAIL_VALUE_CACHE_ENTRIES, JMAP_MAIL_LIMITS } from '../../config/limits.js';
import { MailroomError } from '../../errors.js';
import { parseHeaderBlock, type HeaderField } from '../../mail/headers.js';
import {
  allParts,
  bodyStructureOf,
  bodyValueOf,
  classifyBody,
  hasAttachment,
  partHeaders,
  partSize,
  previewOf,
  type BodyPart,
} from '../../mail/jmap-body.js';
import {
  CONVENIENCE_HEADERS,
  headerProperty,
  parseHeaderProperty,
  type HeaderProperty,
} from '../../mail/jmap-headers.js';
import { parseMimeStructure } from '../../mail/mime-structure.js';
import type { EmailRecord } from '../../store/jmap-store.js';
import type { Store } from '../../store/store.js';
import type { MethodHandler } from '../core/engine.js';
import { MethodError } from '../core/errors.js';
import { memoizeJson } from '../core/json-bytes.js';
import { MAIL_CAPABILITY } from './capability.js';
import type { MailMethodDeps } from './index.js';
import { partBlobId } from './email-blobs.js';
import { requestStates } from './request-states.js';
import { parseIds, parseProperties } from './standard.js';
import { StateCache } from './state-cache.js';

export const METADATA = ['id', 'blobId', 'threadId', 'mailboxIds', 'keywords', 'size', 'receivedAt'];
const BODY = [
  'bodyStructure',
  'textBody',
  'htmlBody',
  'attachments',
  'hasAttachment',
  'preview',
  'bodyValues',
];
const HEADER_ONLY = ['headers', ...Object.keys(CONVENIENCE_HEADERS)];
const KNOWN = new Set([...METADATA, ...BODY, ...HEADER_ONLY]);

/** RFC 8621 4.2 default properties. */
export const DEFAULT_EMAIL_PROPERTIES = [
  ...METADATA,
  'messageId',
  'inReplyTo',
  'references',
  'sender',
  'from',
  'to',
  'cc',
  'bcc',
  'replyTo',
  'subject',
  'sentAt',
  'hasAttachment',
  'preview',
  'bodyValues',
  'textBody',
  'htmlBody',
  'attachments',
];

const BODY_PART_PROPERTIES = [
  'partId',
  'blobId',
  'size',
  'headers',
  'name',
  'type',
  'charset',
  'disposition',
  'cid',
  'language',
  'location',
  'subParts',
];
const KNOWN_BODY = new Set(BODY_PART_PROPERTIES);
/** RFC 8621 4.2 default bodyProperties. */
const DEFAULT_BODY_PROPERTIES = BODY_PART_PROPERTIES.filter((p) => p !== 'headers' && p !== 'subParts');

const headerPropertyOrNull = (p: string): HeaderProperty | null => {
  const parsed = parseHeaderProperty(p);
  if (p.startsWith('header:') && parsed === null) {
    throw new MethodError(
      'invalidArguments',
      `"${p.slice(0, 200)}" is not a valid header property for that field`,
    );
  }
  return parsed;
};

/** Reads a stored message's header block only (up to the blank line), without the body. */
async function readHeader(store: Store, messageId: number): Promise<Buffer> {
  const opened = await store.mail.openMessage(messageId);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of opened.chunks) {
      chunks.push(chunk);
      size += chunk.length;
      const joined = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      const end = joined.indexOf('\r\n\r\n');
      const endLf = joined.indexOf('\n\n');
      if (end >= 0 || endLf >= 0) return joined;
      if (size > 1024 * 1024) return joined; // a header this long is garbage; what was read will do
    }
    return Buffer.concat(chunks, size);
  } finally {
    await opened.close();
  }
}

export interface Options {
  properties: string[];
  bodyProperties: string[];
  fetchText: boolean;
  fetchHtml: boolean;
  fetchAll: boolean;
  maxBodyValueBytes: number;
}

/** Email/get's (and Email/parse's) arguments besides ids (RFC 8621 4.2, 4.9). */
export function parseOptions(
  args: Record<string, unknown>,
  defaults: readonly string[] = DEFAULT_EMAIL_PROPERTIES,
): Options {
  const properties = parseProperties(
    args.properties,
    KNOWN,
    defaults,
    'properties',
    (p) => KNOWN.has(p) || headerPropertyOrNull(p) !== null,
  );
  const bodyProperties = parseProperties(
    args.bodyProperties,
    KNOWN_BODY,
    DEFAULT_BODY_PROPERTIES,
    'bodyProperties',
    (p) => KNOWN_BODY.has(p) || headerPropertyOrNull(p) !== null,
  );
  const flag = (name: string): boolean => {
    const v = args[name];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw new MethodError('invalidArguments', `"${name}" must be a boolean`);
    return v;
  };
  const max = args.maxBodyValueBytes;
  if (
    max !== undefined &&
    max !== null &&
    (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1)
  ) {
    throw new MethodError('invalidArguments', '"maxBodyValueBytes" must be a positive integer');
  }
  return {
    properties,
    bodyProperties,
    fetchText: flag('fetchTextBodyValues'),
    fetchHtml: flag('fetchHTMLBodyValues'),
    fetchAll: flag('fetchAllBodyValues'),
    // The server's own cap applies too, so one get cannot return a 50 MB string.
    maxBodyValueBytes: Math.min(
      (max as number | undefined | null) ?? JMAP_MAIL_LIMITS.maxBodyValueBytes,
      JMAP_MAIL_LIMITS.maxBodyValueBytes,
    ),
  };
}

/** What an Email's properties need from its message: nothing, the header, or all of it. */
/**
 * Properties whose value depends only on the message bytes and is small: kept per stored message in
 * MessageValueCache. (bodyStructure, textBody, bodyValues... are larger and depend on bodyProperties
 * and fetch arguments; they are computed each time.)
 */
const CACHEABLE = (p: string) =>
  p === 'preview' || p === 'hasAttachment' || p in CONVENIENCE_HEADERS || p.startsWith('header:');

/**
 * Values computed from stored messages, by message id: a stored message never changes (messages rows
 * are written once, their ids never reused), so an entry never goes stale. Least recently used first out.
 */
export class MessageValueCache {
  private readonly entries = new Map<number, Map<string, unknown>>();
  constructor(private readonly max = JMAP_EMAIL_VALUE_CACHE_ENTRIES) {}

  get(messageId: number): Map<string, unknown> | undefined {
    const hit = this.entries.get(messageId);
    if (hit) {
      this.entries.delete(messageId);
      this.entries.set(messageId, hit);
    }
    return hit;
  }

  add(messageId: number, values: Record<string, unknown>, properties: readonly string[]): void {
    let entry = this.entries.get(messageId);
    if (!entry) {
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as number);
      this.entries.set(messageId, (entry = new Map()));
    }
    for (const p of properties) if (CACHEABLE(p) && Object.hasOwn(values, p)) entry.set(p, values[p]);
  }

  get size(): number {
    return this.entries.size;
  }
}

function needOf(properties: readonly string[]): 'none' | 'header' | 'body' {
  if (properties.some((p) => BODY.includes(p))) return 'body';
  if (properties.some((p) => HEADER_ONLY.includes(p) || p.startsWith('header:'))) return 'header';
  return 'none';
}

function renderPart(
  message: Buffer,
  part: BodyPart,
  emailBlobId: string,
  props: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of props) {
    switch (p) {
      case 'partId':
        out.partId = part.partId;
        break;
      case 'blobId':
        out.blobId = part.partId === null ? null : partBlobId(emailBlobId, part.partId);
        break;
      case 'size':
        out.size = partSize(message, part);
        break;
      case 'headers':
        out.headers = partHeaders(message, part).map((f) => ({ name: f.name, value: f.raw }));
        break;
      case 'subParts':
        out.subParts = part.subParts?.map((c) => renderPart(message, c, emailBlobId, props)) ?? null;
        break;
      case 'name':
      case 'type':
      case 'charset':
      case 'disposition':
      case 'cid':
      case 'language':
      case 'location':
        out[p] = part[p];
        break;
      default: {
        const hp = parseHeaderProperty(p);
        if (hp) out[p] = headerProperty(partHeaders(message, part), hp);
      }
    }
  }
  return out;
}

/** One Email object (RFC 8621 4.1) from its record and, when needed, its message bytes. */
export function renderEmail(
  email: EmailRecord,
  message: Buffer | null,
  options: Options,
): Record<string, unknown> {
  const out: Record<string, unknown> = { id: email.id };
  let fields: HeaderField[] | null = null;
  const header = () => (fields ??= parseHeaderBlock(message!));
  let body: { root: BodyPart; textBody: BodyPart[]; htmlBody: BodyPart[]; attachments: BodyPart[] } | null =
    null;
  const parts = () => {
    if (body === null) {
      const root = bodyStructureOf(parseMimeStructure(message!));
      body = { root, ...classifyBody(root) };
    }
    return body;
  };
  const list = (ps: BodyPart[]) =>
    ps.map((p) =>
      renderPart(
        message!,
        p,
        email.blobId,
        options.bodyProperties.filter((x) => x !== 'subParts'),
      ),
    );
  for (const p of options.properties) {
    switch (p) {
      case 'id':
        break;
      case 'blobId':
      case 'threadId':
      case 'size':
        out[p] = email[p];
        break;
      case 'mailboxIds':
        out.mailboxIds = Object.fromEntries(email.mailboxIds.map((m) => [m, true]));
        break;
      case 'keywords':
        out.keywords = Object.fromEntries(email.keywords.map((k) => [k, true]));
        break;
      case 'receivedAt':
        out.receivedAt = email.receivedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
        break;
      case 'headers':
        out.headers = header().map((f) => ({ name: f.name, value: f.raw }));
        break;
      case 'bodyStructure':
        // The tree is the point of bodyStructure: subParts always (RFC 8621 4.1.4), whatever bodyProperties says.
        out.bodyStructure = renderPart(message!, parts().root, email.blobId, [
          ...options.bodyProperties.filter((x) => x !== 'subParts'),
          'subParts',
        ]);
        break;
      case 'textBody':
      case 'htmlBody':
      case 'attachments':
        out[p] = list(parts()[p]);
        break;
      case 'hasAttachment':
        out.hasAttachment = hasAttachment(parts().attachments);
        break;
      case 'preview':
        out.preview = previewOf(message!, parts().textBody, JMAP_MAIL_LIMITS.previewChars);
        break;
      case 'bodyValues': {
        const { root, textBody, htmlBody } = parts();
        const wanted = new Set<BodyPart>();
        if (options.fetchText || options.fetchAll) for (const x of textBody) wanted.add(x);
        if (options.fetchHtml || options.fetchAll) for (const x of htmlBody) wanted.add(x);
        if (options.fetchAll) for (const x of allParts(root)) if (x.type.startsWith('text/')) wanted.add(x);
        const values: Record<string, unknown> = {};
        for (const x of wanted) {
          // RFC 8621 4.2: only text/* parts have values (an image in textBody has none).
          if (x.partId !== null && x.type.startsWith('text/')) {
            values[x.partId] = bodyValueOf(message!, x, options.maxBodyValueBytes);
          }
        }
        out.bodyValues = values;
        break;
      }
      default: {
        const hp = CONVENIENCE_HEADERS[p] ?? parseHeaderProperty(p);
        if (hp) out[p] = headerProperty(header(), hp);
      }
    }
  }
  return out;
}

/** Whether Email objects of these properties are kept by state (small values only: no bodies or header lists). */
const keptByState = (properties: readonly string[]): boolean =>
  properties.every((p) => METADATA.includes(p) || CACHEABLE(p));

export function emailGet(
  deps: MailMethodDeps,
  cache = new MessageValueCache(),
  byState = new StateCache<Record<string, unknown>>(),
): MethodHandler {
  return {
    capability: MAIL_CAPABILITY,
    account: 'read',
    async handle(args, ctx) {
      const account = ctx.account!;
      const ids = parseIds(args.ids, ctx);
      // RFC 8621 4.2: a server need not support fetching every Email at once.
      if (ids === null) throw new MethodError('requestTooLarge', 'Email/get needs "ids"; use Email/query');
      const options = parseOptions(args);
      // Read first: objects cached under it are then never older than it (state-cache.ts).
      const state = requestStates(deps.store, ctx, account.storeId).Email;
      const prefix = keptByState(options.properties) ? `${options.properties.join(',')}\n` : null;
      const objects = new Map<string, Record<string, unknown> | null>();
      const unknown: string[] = [];
      for (const id of ids) {
        if (objects.has(id)) continue;
        const hit = prefix === null ? undefined : byState.get(account.storeId, state, prefix + id);
        if (hit) objects.set(id, hit);
        else {
          objects.set(id, null);
          unknown.push(id);
        }
      }
      const records = unknown.length > 0 ? deps.store.jmap.getEmails(account.storeId, unknown) : [];
      // Previews computed here, handed to the store once for the page (EmailRecord.preview).
      const previews = new Map<number, string>();
      for (let i = 0; i < unknown.length; i++) {
        const email = records[i];
        if (!email) continue;
        // What the cache or the store has is copied; only the rest is computed, and the message read
        // only for that. The stored preview is what spares a page's first read after a restart.
        let cached = cache.get(email.messageId);
        if (email.preview !== null && !cached?.has('preview')) {
          cache.add(email.messageId, { preview: email.preview }, ['preview']);
          cached = cache.get(email.messageId);
        }
        const missing = cached ? options.properties.filter((p) => !cached.has(p)) : options.properties;
        const need = needOf(missing);
        let message: Buffer | null = null;
        try {
          if (need === 'body') message = await deps.store.readMessage(email.messageId);
          else if (need === 'header') message = await readHeader(deps.store, email.messageId);
        } catch (error) {
          // Expunged and collected between the lookup and the read: it is gone now.
          if (error instanceof MailroomError && error.code === 'NO_SUCH_MESSAGE') continue;
          throw error;
        }
        const computed = renderEmail(email, message, { ...options, properties: missing });
        if (message !== null) cache.add(email.messageId, computed, missing);
        if (email.preview === null && typeof computed.preview === 'string') {
          previews.set(email.messageId, computed.preview);
        }
        const out: Record<string, unknown> = { id: email.id };
        for (const p of options.properties) {
          if (Object.hasOwn(computed, p)) out[p] = computed[p];
          else if (cached?.has(p)) out[p] = cached.get(p);
        }
        objects.set(unknown[i]!, out);
        if (prefix !== null) {
          byState.set(account.storeId, state, prefix + unknown[i]!, out);
          // Shared from now on, never changed: its JSON is encoded once (core/json-bytes.ts).
          memoizeJson(out);
        }
      }
      const list: Record<string, unknown>[] = [];
      const notFound: string[] = [];
      for (const id of ids) {
        const out = objects.get(id);
        if (out) list.push(out);
        else notFound.push(id);
      }
      if (previews.size > 0)
        try {
          deps.store.jmap.storePreviews(
            [...previews].map(([messageId, preview]) => ({ messageId, preview })),
          );
        } catch (err) {
          // Only a cache: the answer stands, the previews are computed again next time.
          deps.logger.warn({ err }, 'storing Email previews failed');
        }
      return { accountId: account.id, state, list, notFound };
    },
  };
}
