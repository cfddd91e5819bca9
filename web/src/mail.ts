// RFC 8621 operations the web mail performs (Mailbox, Email, Identity, EmailSubmission, VacationResponse), as plain async functions.
import { type JmapClient, resultOf } from './jmap.js';

export interface Mailbox {
  id: string;
  name: string;
  role: string | null;
  parentId: string | null;
  sortOrder: number;
  totalEmails: number;
  unreadEmails: number;
}

export interface Address {
  name: string | null;
  email: string;
}

export interface EmailSummary {
  id: string;
  threadId: string;
  mailboxIds: Record<string, boolean>;
  keywords: Record<string, boolean>;
  from: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
  subject: string | null;
  receivedAt: string;
  preview: string;
  hasAttachment: boolean;
}

export interface BodyPart {
  partId: string | null;
  blobId: string | null;
  size: number;
  name: string | null;
  type: string;
  cid: string | null;
  disposition: string | null;
}

export interface EmailFull extends EmailSummary {
  replyTo: Address[] | null;
  messageId: string[] | null;
  references: string[] | null;
  sentAt: string | null;
  textBody: BodyPart[];
  htmlBody: BodyPart[];
  attachments: BodyPart[];
  bodyValues: Record<string, { value: string }>;
}

export interface Identity {
  id: string;
  name: string;
  email: string;
  replyTo: Address[] | null;
  textSignature: string;
}

export interface Vacation {
  isEnabled: boolean;
  subject: string | null;
  textBody: string | null;
  fromDate: string | null;
  toDate: string | null;
}

const SUMMARY = [
  'id',
  'threadId',
  'mailboxIds',
  'keywords',
  'from',
  'to',
  'cc',
  'subject',
  'receivedAt',
  'preview',
  'hasAttachment',
];

const ROLE_NAMES: Record<string, string> = {
  inbox: 'Inbox',
  drafts: 'Drafts',
  sent: 'Sent',
  junk: 'Junk',
  trash: 'Trash',
  archive: 'Archive',
};
const ROLE_ORDER = ['inbox', 'drafts', 'sent', 'archive', 'junk', 'trash'];

/** What the mailbox is called on screen: its role's name for special-use mailboxes ("INBOX" is "Inbox"). */
export function displayName(m: Mailbox): string {
  return (m.role && ROLE_NAMES[m.role]) ?? m.name;
}

export async function loadMailboxes(c: JmapClient): Promise<Mailbox[]> {
  const r = await c.call1('Mailbox/get', { ids: null });
  const list = r.list as Mailbox[];
  const rank = (m: Mailbox) => (m.role && ROLE_ORDER.includes(m.role) ? ROLE_ORDER.indexOf(m.role) : 99);
  return list.sort((a, b) => rank(a) - rank(b) || a.sortOrder - b.sortOrder || a.name.localeCompare(b.name));
}

export interface Page {
  ids: string[];
  position: number;
  total: number;
  emails: EmailSummary[];
}

/**
 * One page of a mailbox, newest first: Email/query (position + limit, RFC 8621 4.4) and Email/get of
 * exactly those ids by back-reference (RFC 8620 3.7) in one request, so a 100,000-message mailbox costs
 * the same as a small one.
 */
export async function loadPage(
  c: JmapClient,
  mailboxId: string,
  position: number,
  limit: number,
  text: string,
): Promise<Page> {
  const filter: Record<string, unknown> = { inMailbox: mailboxId };
  if (text) filter.text = text;
  const responses = await c.call([
    [
      'Email/query',
      {
        accountId: c.accountId,
        filter,
        sort: [{ property: 'receivedAt', isAscending: false }],
        position,
        limit,
        calculateTotal: true,
      },
      'q',
    ],
    [
      'Email/get',
      {
        accountId: c.accountId,
        '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' },
        properties: SUMMARY,
      },
      'g',
    ],
  ]);
  const q = resultOf(responses[0], 'Email/query');
  const g = resultOf(responses[1], 'Email/get');
  return {
    ids: q.ids as string[],
    position: Number(q.position ?? position),
    total: Number(q.total ?? 0),
    emails: g.list as EmailSummary[],
  };
}

export async function loadEmail(c: JmapClient, id: string): Promise<EmailFull | null> {
  const r = await c.call1('Email/get', {
    ids: [id],
    properties: [
      ...SUMMARY,
      'replyTo',
      'messageId',
      'references',
      'sentAt',
      'textBody',
      'htmlBody',
      'attachments',
      'bodyValues',
    ],
    fetchTextBodyValues: true,
    maxBodyValueBytes: 1_000_000,
  });
  return ((r.list as EmailFull[])[0] as EmailFull | undefined) ?? null;
}

/** The sanitised HTML of an email (Mailroom's Email/sanitizedHtml), remote content only when allowed. */
export async function loadHtml(
  c: JmapClient,
  id: string,
  allowRemote: boolean,
): Promise<{ html: string | null; blockedRemote: number }> {
  const r = await c.call1('Email/sanitizedHtml', { ids: [id], allowRemote });
  const entry = (r.list as { html: string | null; blockedRemote: number }[])[0];
  return entry ?? { html: null, blockedRemote: 0 };
}

export async function updateEmails(
  c: JmapClient,
  ids: string[],
  patch: Record<string, unknown>,
): Promise<void> {
  const update = Object.fromEntries(ids.map((id) => [id, patch]));
  const r = await c.call1('Email/set', { update });
  const failed = r.notUpdated as Record<string, { type: string }> | null;
  if (failed && Object.keys(failed).length > 0)
    throw new Error(`not updated: ${Object.values(failed)[0]!.type}`);
}

export const setKeyword = (c: JmapClient, ids: string[], keyword: string, on: boolean) =>
  updateEmails(c, ids, { [`keywords/${keyword}`]: on ? true : null });

export const moveEmails = (c: JmapClient, ids: string[], to: string) =>
  updateEmails(c, ids, { mailboxIds: { [to]: true } });

export async function destroyEmails(c: JmapClient, ids: string[]): Promise<void> {
  await c.call1('Email/set', { destroy: ids });
}

/** Empties a mailbox (Trash, Junk): query then destroy by back-reference, a batch at a time. */
export async function emptyMailbox(c: JmapClient, mailboxId: string, batch = 200): Promise<void> {
  for (let round = 0; round < 1000; round++) {
    const responses = await c.call([
      ['Email/query', { accountId: c.accountId, filter: { inMailbox: mailboxId }, limit: batch }, 'q'],
      [
        'Email/set',
        { accountId: c.accountId, '#destroy': { resultOf: 'q', name: 'Email/query', path: '/ids' } },
        's',
      ],
    ]);
    const ids = resultOf(responses[0], 'Email/query').ids as string[];
    resultOf(responses[1], 'Email/set');
    if (ids.length < batch) return;
  }
}

export async function loadIdentities(c: JmapClient): Promise<Identity[]> {
  return (await c.call1('Identity/get', { ids: null })).list as Identity[];
}

export async function saveIdentity(c: JmapClient, id: string, patch: Partial<Identity>): Promise<void> {
  await c.call1('Identity/set', { update: { [id]: patch } });
}

export async function loadVacation(c: JmapClient): Promise<Vacation> {
  const r = await c.call1('VacationResponse/get', { ids: ['singleton'] });
  return (
    (r.list as Vacation[])[0] ?? {
      isEnabled: false,
      subject: null,
      textBody: null,
      fromDate: null,
      toDate: null,
    }
  );
}

export async function saveVacation(c: JmapClient, v: Vacation): Promise<void> {
  await c.call1('VacationResponse/set', { update: { singleton: v } });
}
