// Email/set create (RFC 8621 4.6): a JMAP Email object -> header fields and a MIME part tree for mail/build-message.ts, with its SetErrors.
import { randomBytes } from 'node:crypto';
import { JMAP_EMAIL_CREATE_LIMITS } from '../../config/limits.js';
import { buildMessage, formatAddress, type BuildHeader, type BuildPart } from '../../mail/build-message.js';
import { rfc5322Date } from '../../mail/received-header.js';
import { isObject } from '../core/request.js';
import { isJmapId, parseKeyword, parseUtcDate } from './email-filter.js';
import { SetError } from './set-errors.js';

const badProperty = (property: string, why: string): SetError =>
  new SetError('invalidProperties', `${property}: ${why}`, { properties: [property] });

/** What the create needs resolved outside: blob bytes by id (uploads, stored messages). */
export interface BlobSource {
  /** The blob's bytes when it is this account's, else null. */
  read(blobId: string): Promise<Buffer | null>;
}

/** A create ready to store: the message bytes and where and how. */
export interface PreparedEmail {
  message: Buffer;
  mailboxIds: string[];
  keywords: string[];
  receivedAt: Date;
}

/** Properties the server sets (RFC 8621 4.6: "MUST NOT" be given on create). */
const SERVER_SET = ['id', 'blobId', 'threadId', 'size', 'preview', 'hasAttachment'];
const ADDRESS_PROPS: Record<string, string> = {
  sender: 'Sender',
  from: 'From',
  to: 'To',
  cc: 'Cc',
  bcc: 'Bcc',
  replyTo: 'Reply-To',
};
const ID_PROPS: Record<string, string> = {
  messageId: 'Message-ID',
  inReplyTo: 'In-Reply-To',
  references: 'References',
};
const BODY_PROPS = ['bodyStructure', 'textBody', 'htmlBody', 'attachments', 'bodyValues'];

function addresses(value: unknown, property: string): string {
  if (!Array.isArray(value)) throw badProperty(property, 'must be an array of EmailAddress');
  return value
    .map((a) => {
      if (!isObject(a) || typeof a.email !== 'string' || (a.name != null && typeof a.name !== 'string')) {
        throw badProperty(property, 'each EmailAddress needs "email" (and an optional "name")');
      }
      return formatAddress({ name: a.name as string | null, email: a.email });
    })
    .join(', ');
}

function messageIds(value: unknown, property: string): string {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && /^[^<>\s]+$/.test(v))) {
    throw badProperty(property, 'must be an array of message ids without angle brackets');
  }
  return value.map((v) => `<${v as string}>`).join(' ');
}

/**
 * A `header:Name[:asForm][:all]` property (RFC 8621 4.1.3) as fields to write. Forms the client may
 * set: asRaw, asText, asAddresses, asMessageIds, asDate, asURLs (asGroupedAddresses is refused).
 */
function headerProperty(key: string, value: unknown): BuildHeader[] {
  const parts = key.split(':');
  const name = parts[1] ?? '';
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) throw badProperty(key, 'not a header field name');
  if (/^content-transfer-encoding$/i.test(name)) throw badProperty(key, 'the server chooses the encoding');
  let form = 'asRaw';
  let all = false;
  for (const p of parts.slice(2)) {
    if (p === 'all') all = true;
    else if (p.startsWith('as')) form = p;
    else throw badProperty(key, `unknown suffix "${p}"`);
  }
  const values = all ? value : [value];
  if (!Array.isArray(values)) throw badProperty(key, 'with :all, an array of values');
  return values.map((v): BuildHeader => {
    switch (form) {
      case 'asRaw':
        if (typeof v !== 'string') throw badProperty(key, 'must be a string');
        return { name, raw: v.replace(/^ /, '') };
      case 'asText':
        if (typeof v !== 'string') throw badProperty(key, 'must be a string');
        return { name, text: v };
      case 'asAddresses':
        return { name, raw: addresses(v, key) };
      case 'asMessageIds':
        return { name, raw: messageIds(v, key) };
      case 'asDate': {
        const ms = typeof v === 'string' ? Date.parse(v) : NaN;
        if (!Number.isFinite(ms)) throw badProperty(key, 'must be a Date');
        return { name, raw: rfc5322Date(new Date(ms)) };
      }
      case 'asURLs':
        if (!Array.isArray(v) || !v.every((u) => typeof u === 'string'))
          throw badProperty(key, 'must be URLs');
        return { name, raw: (v as string[]).map((u) => `<${u}>`).join(', ') };
      default:
        throw badProperty(key, `cannot set the ${form} form`);
    }
  });
}

interface PartContext {
  bodyValues: Record<string, unknown>;
  blobs: BlobSource;
  count: number;
  blobBytes: number;
  missing: string[];
}

/** An EmailBodyPart (RFC 8621 4.1.4) to a BuildPart: content from bodyValues (partId) or a blob (blobId). */
async function bodyPart(v: unknown, property: string, ctx: PartContext, depth: number): Promise<BuildPart> {
  if (depth > JMAP_EMAIL_CREATE_LIMITS.maxBodyDepth) throw badProperty(property, 'nested too deep');
  if (++ctx.count > JMAP_EMAIL_CREATE_LIMITS.maxBodyParts) throw badProperty(property, 'too many parts');
  if (!isObject(v)) throw badProperty(property, 'each part must be an EmailBodyPart object');
  const type = typeof v.type === 'string' ? v.type.toLowerCase() : null;
  const part: BuildPart = { type: type ?? 'text/plain' };
  if (type !== null && !/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type))
    throw badProperty(property, 'bad type');
  if (v.charset != null) {
    if (typeof v.charset !== 'string' || !/^utf-?8$/i.test(v.charset)) {
      throw badProperty(property, 'text is written as utf-8 (charset may only be utf-8)');
    }
  }
  if (v.disposition != null) {
    if (v.disposition !== 'inline' && v.disposition !== 'attachment')
      throw badProperty(property, 'bad disposition');
    part.disposition = v.disposition;
  }
  if (v.name != null) {
    if (typeof v.name !== 'string') throw badProperty(property, 'name must be a string');
    part.name = v.name;
  }
  if (v.cid != null) {
    if (typeof v.cid !== 'string') throw badProperty(property, 'cid must be a string');
    part.cid = v.cid;
  }
  if (v.location != null) {
    if (typeof v.location !== 'string') throw badProperty(property, 'location must be a string');
    part.location = v.location;
  }
  if (v.language != null) {
    if (!Array.isArray(v.language) || !v.language.every((l) => typeof l === 'string')) {
      throw badProperty(property, 'language must be an array of strings');
    }
    part.language = v.language as string[];
  }
  const headers: BuildHeader[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('header:')) {
      if (/^header:content-/i.test(k))
        throw badProperty(property, 'Content-* fields come from the part properties');
      headers.push(...headerProperty(k, x));
    }
  }
  if (Array.isArray(v.headers)) {
    for (const h of v.headers) {
      if (!isObject(h) || typeof h.name !== 'string' || typeof h.value !== 'string') {
        throw badProperty(property, 'headers must be EmailHeader objects');
      }
      if (/^content-/i.test(h.name))
        throw badProperty(property, 'Content-* fields come from the part properties');
      headers.push({ name: h.name, raw: h.value.replace(/^ /, '') });
    }
  }
  if (headers.length > 0) part.headers = headers;
  if (Array.isArray(v.subParts)) {
    if (!part.type.startsWith('multipart/')) throw badProperty(property, 'subParts need a multipart type');
    part.subParts = [];
    for (const sub of v.subParts) part.subParts.push(await bodyPart(sub, property, ctx, depth + 1));
    if (part.subParts.length === 0) throw badProperty(property, 'a multipart needs parts');
    return part;
  }
  if (part.type.startsWith('multipart/')) throw badProperty(property, 'a multipart needs subParts');
  const hasPartId = v.partId != null;
  const hasBlobId = v.blobId != null;
  if (hasPartId === hasBlobId)
    throw badProperty(property, 'each leaf part needs exactly one of partId, blobId');
  if (hasPartId) {
    const value = typeof v.partId === 'string' ? ctx.bodyValues[v.partId] : undefined;
    if (!isObject(value) || typeof value.value !== 'string') {
      throw badProperty('bodyValues', `no value for partId ${JSON.stringify(v.partId)}`);
    }
    if (value.isEncodingProblem === true || value.isTruncated === true) {
      throw badProperty('bodyValues', 'isEncodingProblem and isTruncated must be false');
    }
    if (!part.type.startsWith('text/')) throw badProperty(property, 'a partId part must be text/*');
    part.content = value.value;
    return part;
  }
  if (!isJmapId(v.blobId)) throw badProperty(property, 'blobId must be an id');
  const bytes = await ctx.blobs.read(v.blobId);
  if (bytes === null) {
    ctx.missing.push(v.blobId);
    return part;
  }
  ctx.blobBytes += bytes.length;
  if (part.type.startsWith('text/')) part.content = bytes.toString('utf8');
  else part.content = bytes;
  return part;
}

/** RFC 8621 4.6: textBody/htmlBody/attachments -> alternative, related (inline cid parts) and mixed. */
function assemble(text: BuildPart | null, html: BuildPart | null, attachments: BuildPart[]): BuildPart {
  const inline = html ? attachments.filter((a) => a.cid && a.disposition !== 'attachment') : [];
  const others = attachments.filter((a) => !inline.includes(a));
  const htmlish =
    html && inline.length > 0 ? { type: 'multipart/related', subParts: [html, ...inline] } : html;
  let body: BuildPart | null =
    text && htmlish ? { type: 'multipart/alternative', subParts: [text, htmlish] } : (text ?? htmlish);
  if (others.length > 0) {
    body = { type: 'multipart/mixed', subParts: [...(body ? [body] : []), ...others] };
  }
  return body ?? { type: 'text/plain', content: '' };
}

/**
 * Checks and converts one create (RFC 8621 4.6). Throws SetError: invalidProperties (with the
 * property), blobNotFound (with notFound), tooLarge. `resolveId` maps "#creationId" mailbox ids.
 */
export async function prepareEmail(
  v: unknown,
  deps: { blobs: BlobSource; now: Date; hostname: string; resolveId: (id: string) => string | null },
): Promise<PreparedEmail> {
  if (!isObject(v)) throw new SetError('invalidProperties', 'an Email object is needed', { properties: [] });
  for (const p of SERVER_SET) if (Object.hasOwn(v, p)) throw badProperty(p, 'set by the server');
  if (!isObject(v.mailboxIds)) throw badProperty('mailboxIds', 'required: an object of Mailbox ids');
  const mailboxIds: string[] = [];
  for (const [id, on] of Object.entries(v.mailboxIds)) {
    if (on !== true) throw badProperty('mailboxIds', 'values must be true');
    const resolved = deps.resolveId(id);
    if (resolved === null) throw badProperty('mailboxIds', `unknown creation id ${id}`);
    mailboxIds.push(resolved);
  }
  if (mailboxIds.length === 0) throw badProperty('mailboxIds', 'an Email is in at least one Mailbox');
  const keywords: string[] = [];
  if (v.keywords != null) {
    if (!isObject(v.keywords)) throw badProperty('keywords', 'must be an object');
    for (const [k, on] of Object.entries(v.keywords)) {
      const kw = parseKeyword(k);
      if (kw === null || on !== true) throw badProperty('keywords', `bad keyword ${JSON.stringify(k)}`);
      keywords.push(kw);
    }
  }
  let receivedAt = deps.now;
  if (v.receivedAt != null) {
    const ms = parseUtcDate(v.receivedAt);
    if (ms === null) throw badProperty('receivedAt', 'must be a UTCDate');
    receivedAt = new Date(ms);
  }
  const headers: BuildHeader[] = [];
  const named = new Set<string>();
  const add = (h: BuildHeader, property: string): void => {
    const lower = h.name.toLowerCase();
    if (named.has(lower) && !property.endsWith(':all')) {
      throw badProperty(property, `the ${h.name} field is given twice`);
    }
    named.add(lower);
    headers.push(h);
  };
  const extra = ['receivedAt', 'mailboxIds', 'keywords', 'subject', 'sentAt', 'headers', ...BODY_PROPS];
  for (const [key, x] of Object.entries(v)) {
    if (x === null || extra.includes(key)) continue;
    if (ADDRESS_PROPS[key]) add({ name: ADDRESS_PROPS[key], raw: addresses(x, key) }, key);
    else if (ID_PROPS[key]) add({ name: ID_PROPS[key], raw: messageIds(x, key) }, key);
    else if (key.startsWith('header:')) {
      if (/^header:content-/i.test(key)) throw badProperty(key, 'Content-* fields come from the body');
      for (const h of headerProperty(key, x)) add(h, key);
    } else throw badProperty(key, 'unknown or immutable property');
  }
  if (typeof v.subject === 'string') add({ name: 'Subject', text: v.subject }, 'subject');
  else if (v.subject != null) throw badProperty('subject', 'must be a string');
  if (v.sentAt != null) {
    const ms = typeof v.sentAt === 'string' ? Date.parse(v.sentAt) : NaN;
    if (!Number.isFinite(ms)) throw badProperty('sentAt', 'must be a Date');
    add({ name: 'Date', raw: rfc5322Date(new Date(ms)) }, 'sentAt');
  }
  if (Array.isArray(v.headers)) {
    for (const h of v.headers) {
      if (!isObject(h) || typeof h.name !== 'string' || typeof h.value !== 'string') {
        throw badProperty('headers', 'must be EmailHeader objects');
      }
      if (/^content-/i.test(h.name)) throw badProperty('headers', 'Content-* fields come from the body');
      add({ name: h.name, raw: h.value.replace(/^ /, '') }, 'headers');
    }
  }
  // RFC 5322 3.6: Date and Message-ID are required/expected; the server adds them when missing.
  if (!named.has('date')) add({ name: 'Date', raw: rfc5322Date(deps.now) }, 'sentAt');
  if (!named.has('message-id')) {
    add({ name: 'Message-ID', raw: `<${randomBytes(12).toString('hex')}@${deps.hostname}>` }, 'messageId');
  }

  const bodyValues = v.bodyValues ?? {};
  if (!isObject(bodyValues)) throw badProperty('bodyValues', 'must be an object');
  const ctx: PartContext = { bodyValues, blobs: deps.blobs, count: 0, blobBytes: 0, missing: [] };
  let root: BuildPart;
  if (v.bodyStructure != null) {
    for (const p of ['textBody', 'htmlBody', 'attachments']) {
      if (v[p] != null) throw badProperty(p, 'not with bodyStructure');
    }
    root = await bodyPart(v.bodyStructure, 'bodyStructure', ctx, 1);
  } else {
    const one = async (p: 'textBody' | 'htmlBody', type: string): Promise<BuildPart | null> => {
      if (v[p] == null) return null;
      const list = v[p];
      if (!Array.isArray(list) || list.length > 1) throw badProperty(p, 'at most one part');
      if (list.length === 0) return null;
      const part = await bodyPart(list[0], p, ctx, 1);
      if (part.type !== type) throw badProperty(p, `must be ${type}`);
      return part;
    };
    const text = await one('textBody', 'text/plain');
    const html = await one('htmlBody', 'text/html');
    const attachments: BuildPart[] = [];
    if (v.attachments != null) {
      if (!Array.isArray(v.attachments)) throw badProperty('attachments', 'must be an array');
      for (const a of v.attachments) attachments.push(await bodyPart(a, 'attachments', ctx, 1));
    }
    root = assemble(text, html, attachments);
  }
  if (ctx.missing.length > 0) {
    throw new SetError('blobNotFound', 'some blobs do not exist', { notFound: [...new Set(ctx.missing)] });
  }
  if (ctx.blobBytes > JMAP_EMAIL_CREATE_LIMITS.maxSizeAttachmentsPerEmail) {
    throw new SetError('tooLarge', 'the attachments exceed maxSizeAttachmentsPerEmail', {
      maxSize: JMAP_EMAIL_CREATE_LIMITS.maxSizeAttachmentsPerEmail,
    });
  }
  const message = buildMessage(headers, root, {
    boundary: (n) => `=_mailroom_${randomBytes(9).toString('base64url')}_${n}`,
  });
  if (message.length > JMAP_EMAIL_CREATE_LIMITS.maxMessageBytes) {
    throw new SetError('tooLarge', 'the message is too large', {
      maxSize: JMAP_EMAIL_CREATE_LIMITS.maxMessageBytes,
    });
  }
  return { message, mailboxIds, keywords, receivedAt };
}
