// JMAP header field forms (RFC 8621 4.1.2): Raw, Text, Addresses, GroupedAddresses, MessageIds, Date, URLs. Pure.
import { decodeEncodedWords } from './encoded-words.js';
import { parseAddressList, MISSING_HOST } from './envelope.js';
import { parseRfc5322Date, unfold, type HeaderField } from './headers.js';

export type HeaderForm = 'Raw' | 'Text' | 'Addresses' | 'GroupedAddresses' | 'MessageIds' | 'Date' | 'URLs';

export interface EmailAddress {
  name: string | null;
  email: string;
}
export interface EmailAddressGroup {
  name: string | null;
  addresses: EmailAddress[];
}

/** A parsed `header:Name[:asForm][:all]` property (RFC 8621 4.1.3). */
export interface HeaderProperty {
  /** Lower-cased field name to look up. */
  key: string;
  form: HeaderForm;
  all: boolean;
}

const FORMS: Record<string, HeaderForm> = {
  asraw: 'Raw',
  astext: 'Text',
  asaddresses: 'Addresses',
  asgroupedaddresses: 'GroupedAddresses',
  asmessageids: 'MessageIds',
  asdate: 'Date',
  asurls: 'URLs',
};

/**
 * Which forms each field of RFC 5322/2369 may be asked in (RFC 8621 4.1.2.1-4.1.2.7); fields not listed
 * (and not in these RFCs) may use any form. Raw is always allowed.
 */
const ADDRESS_FIELDS = [
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'resent-from',
  'resent-sender',
  'resent-reply-to',
  'resent-to',
  'resent-cc',
  'resent-bcc',
];
const ALLOWED: Record<string, readonly HeaderForm[]> = {
  subject: ['Text'],
  comments: ['Text'],
  keywords: ['Text'],
  'list-id': ['Text'],
  date: ['Date'],
  'resent-date': ['Date'],
  'message-id': ['MessageIds'],
  'in-reply-to': ['MessageIds'],
  references: ['MessageIds'],
  'resent-message-id': ['MessageIds'],
  'list-help': ['URLs'],
  'list-unsubscribe': ['URLs'],
  'list-subscribe': ['URLs'],
  'list-post': ['URLs'],
  'list-owner': ['URLs'],
  'list-archive': ['URLs'],
  'return-path': [],
  received: [],
  ...Object.fromEntries(ADDRESS_FIELDS.map((f) => [f, ['Addresses', 'GroupedAddresses'] as const])),
};

/** A field name (RFC 5322 2.2: printable US-ASCII but colon). */
const FIELD_NAME = /^[!-9;-~]{1,200}$/;

/**
 * Parses "header:Name[:asForm][:all]" (RFC 8621 4.1.3). Null when it is not such a property, or the
 * form is not one of 4.1.2, or the field may not be asked in that form (the caller answers invalidArguments).
 */
export function parseHeaderProperty(property: string): HeaderProperty | null {
  if (!property.startsWith('header:')) return null;
  const parts = property.slice(7).split(':');
  const name = parts.shift()!;
  if (!FIELD_NAME.test(name)) return null;
  let all = false;
  if (parts.length > 0 && parts[parts.length - 1] === 'all') {
    all = true;
    parts.pop();
  }
  let form: HeaderForm = 'Raw';
  if (parts.length === 1) {
    const f = FORMS[parts[0]!.toLowerCase()];
    if (f === undefined) return null;
    form = f;
  } else if (parts.length > 1) return null;
  const key = name.toLowerCase();
  const allowed = ALLOWED[key];
  if (form !== 'Raw' && allowed !== undefined && !allowed.includes(form)) return null;
  return { key, form, all };
}

/** Text (4.1.2.2): unfolded, RFC 2047 decoded, leading/trailing white space trimmed, NFC. */
export function asText(raw: string): string {
  return decodeEncodedWords(unfold(raw).trim()).trim().normalize('NFC');
}

/** GroupedAddresses (4.1.2.4): addresses outside groups go into a group with a null name. */
export function asGroupedAddresses(raw: string): EmailAddressGroup[] {
  const groups: EmailAddressGroup[] = [];
  let current: EmailAddressGroup | null = null;
  for (const a of parseAddressList(unfold(raw))) {
    if (a.host === null && a.mailbox !== null) {
      current = { name: a.mailbox === '' ? null : decodeEncodedWords(a.mailbox), addresses: [] };
      groups.push(current);
    } else if (a.host === null) {
      current = null;
    } else {
      const address: EmailAddress = {
        name: a.name === null || a.name === '' ? null : decodeEncodedWords(a.name).normalize('NFC'),
        email: a.host === MISSING_HOST ? (a.mailbox ?? '') : `${a.mailbox ?? ''}@${a.host}`,
      };
      if (current === null) {
        const last = groups[groups.length - 1];
        if (last && last.name === null) last.addresses.push(address);
        else groups.push({ name: null, addresses: [address] });
      } else current.addresses.push(address);
    }
  }
  return groups;
}

/** Addresses (4.1.2.3): every mailbox, group members included, in order. */
export function asAddresses(raw: string): EmailAddress[] {
  return asGroupedAddresses(raw).flatMap((g) => g.addresses);
}

/** MessageIds (4.1.2.5): the msg-ids without angle brackets; null when the value has none or garbage. */
export function asMessageIds(raw: string): string[] | null {
  const text = unfold(raw)
    .replace(/\([^()]*\)/g, ' ')
    .trim();
  if (text === '') return null;
  const ids: string[] = [];
  const re = /<([^<>\s]+)>|(\S+)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[1] === undefined) return null; // something that is not a msg-id
    ids.push(m[1]);
  }
  return ids.length > 0 ? ids : null;
}

/**
 * Date (4.1.2.6): RFC 3339 date-time keeping the field's zone offset (RFC 8620 1.4 Date); null when the
 * value is not an RFC 5322 date.
 */
export function asDate(raw: string): string | null {
  const value = unfold(raw).trim();
  const date = parseRfc5322Date(value);
  if (date === null) return null;
  const zone = /([+-])(\d{2})(\d{2})\s*(?:\([^)]*\)\s*)?$/.exec(value);
  const offset = zone ? (zone[1] === '-' ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3])) : 0;
  if (Math.abs(offset) > 24 * 60) return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const abs = Math.abs(offset);
  const sign = offset < 0 ? '-' : '+';
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** URLs (4.1.2.7): the <...> items of a List-* field (RFC 2369); null when there are none. */
export function asURLs(raw: string): string[] | null {
  const urls = [...unfold(raw).matchAll(/<([^<>]*)>/g)].map((m) => m[1]!.replace(/\s+/g, ''));
  return urls.length > 0 ? urls : null;
}

/** One field's value in a form. */
export function headerValue(raw: string, form: HeaderForm): unknown {
  switch (form) {
    case 'Raw':
      return raw;
    case 'Text':
      return asText(raw);
    case 'Addresses':
      return asAddresses(raw);
    case 'GroupedAddresses':
      return asGroupedAddresses(raw);
    case 'MessageIds':
      return asMessageIds(raw);
    case 'Date':
      return asDate(raw);
    case 'URLs':
      return asURLs(raw);
  }
}

/**
 * A header property's value from a header block (RFC 8621 4.1.3): the LAST field of that name (or
 * null when absent), or with :all every one in order (an empty list when absent).
 */
export function headerProperty(fields: readonly HeaderField[], p: HeaderProperty): unknown {
  const matching = fields.filter((f) => f.key === p.key);
  if (p.all) return matching.map((f) => headerValue(f.raw, p.form));
  const last = matching[matching.length - 1];
  return last === undefined ? null : headerValue(last.raw, p.form);
}

/** The convenience properties of RFC 8621 4.1.3 as the header forms they stand for. */
export const CONVENIENCE_HEADERS: Record<string, HeaderProperty> = {
  messageId: { key: 'message-id', form: 'MessageIds', all: false },
  inReplyTo: { key: 'in-reply-to', form: 'MessageIds', all: false },
  references: { key: 'references', form: 'MessageIds', all: false },
  sender: { key: 'sender', form: 'Addresses', all: false },
  from: { key: 'from', form: 'Addresses', all: false },
  to: { key: 'to', form: 'Addresses', all: false },
  cc: { key: 'cc', form: 'Addresses', all: false },
  bcc: { key: 'bcc', form: 'Addresses', all: false },
  replyTo: { key: 'reply-to', form: 'Addresses', all: false },
  subject: { key: 'subject', form: 'Text', all: false },
  sentAt: { key: 'date', form: 'Date', all: false },
};
