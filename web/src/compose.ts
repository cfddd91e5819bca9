// Drafts and sending (RFC 8621 4.6 Email/set, 7.5 EmailSubmission/set with onSuccessUpdateEmail), and reply/forward prefills.
import { type JmapClient, resultOf } from './jmap.js';
import type { Address, EmailFull, Identity } from './mail.js';

export interface Attachment {
  blobId: string;
  name: string;
  type: string;
  size: number;
}

export interface Draft {
  to: string;
  cc: string;
  subject: string;
  body: string;
  attachments: Attachment[];
  inReplyTo: string[] | null;
  references: string[] | null;
  /** Forwarded attachments of the original come along as blobs (no re-upload). */
}

export const emptyDraft = (): Draft => ({
  to: '',
  cc: '',
  subject: '',
  body: '',
  attachments: [],
  inReplyTo: null,
  references: null,
});

/** "Ann <ann@x>, bob@y" -> addresses; anything without an @ is left out. */
export function parseAddresses(text: string): Address[] {
  return text
    .split(/[,;\n]/)
    .map((part) => part.trim())
    .filter((part) => part.includes('@'))
    .map((part) => {
      const m = /^(.*?)\s*<([^>]+)>$/.exec(part);
      return m
        ? { name: m[1]!.replace(/^"|"$/g, '') || null, email: m[2]!.trim() }
        : { name: null, email: part };
    });
}

export function formatAddress(a: Address): string {
  return a.name ? `${a.name} <${a.email}>` : a.email;
}

export const formatAddresses = (list: Address[] | null): string => (list ?? []).map(formatAddress).join(', ');

/** The JMAP Email to create for a draft (RFC 8621 4.6: textBody + bodyValues, attachments by blobId). */
function emailToCreate(d: Draft, identity: Identity, draftsId: string): Record<string, unknown> {
  const email: Record<string, unknown> = {
    mailboxIds: { [draftsId]: true },
    keywords: { $draft: true, $seen: true },
    from: [{ name: identity.name || null, email: identity.email }],
    to: parseAddresses(d.to),
    cc: parseAddresses(d.cc),
    subject: d.subject,
    bodyValues: { body: { value: d.body } },
    textBody: [{ partId: 'body', type: 'text/plain' }],
    attachments: d.attachments.map((a) => ({
      blobId: a.blobId,
      type: a.type,
      name: a.name,
      disposition: 'attachment',
    })),
  };
  if (d.inReplyTo) email.inReplyTo = d.inReplyTo;
  if (d.references) email.references = d.references;
  return email;
}

/** Saves the draft as a new Email in Drafts, replacing the previous save (emails are immutable, RFC 8621 4.6). */
export async function saveDraft(
  c: JmapClient,
  d: Draft,
  identity: Identity,
  draftsId: string,
  previousId: string | null,
): Promise<string> {
  const r = await c.call1('Email/set', {
    create: { draft: emailToCreate(d, identity, draftsId) },
    ...(previousId ? { destroy: [previousId] } : {}),
  });
  const created = (r.created as Record<string, { id: string }> | null)?.draft;
  if (!created) throw new Error(`draft not saved: ${JSON.stringify(r.notCreated ?? {})}`);
  return created.id;
}

/**
 * Sends in one request: the final draft is created (replacing the last save), then submitted; on
 * success the server moves it from Drafts to Sent and drops $draft (onSuccessUpdateEmail, RFC 8621 7.5).
 */
export async function send(
  c: JmapClient,
  d: Draft,
  identity: Identity,
  draftsId: string,
  sentId: string | null,
  previousId: string | null,
): Promise<void> {
  const onSuccess: Record<string, unknown> = { [`mailboxIds/${draftsId}`]: null, 'keywords/$draft': null };
  if (sentId) onSuccess[`mailboxIds/${sentId}`] = true;
  const responses = await c.call([
    [
      'Email/set',
      {
        accountId: c.accountId,
        create: { draft: emailToCreate(d, identity, draftsId) },
        ...(previousId ? { destroy: [previousId] } : {}),
      },
      'e',
    ],
    [
      'EmailSubmission/set',
      {
        accountId: c.accountId,
        create: { send: { identityId: identity.id, emailId: '#draft' } },
        onSuccessUpdateEmail: { '#send': onSuccess },
      },
      's',
    ],
  ]);
  const e = resultOf(responses[0], 'Email/set');
  if (!(e.created as Record<string, unknown> | null)?.draft)
    throw new Error(`not created: ${JSON.stringify(e.notCreated)}`);
  const s = resultOf(responses[1], 'EmailSubmission/set');
  const failed = (s.notCreated as Record<string, { type: string; description?: string }> | null)?.send;
  if (failed) throw new Error(`not sent: ${failed.description ?? failed.type}`);
}

function quote(e: EmailFull): string {
  const text = e.textBody.map((p) => (p.partId ? (e.bodyValues[p.partId]?.value ?? '') : '')).join('\n');
  const who = formatAddresses(e.from);
  // The quote ends at the last line of text: trailing blank lines would become empty "> " lines.
  return `\n\nOn ${new Date(e.receivedAt).toLocaleString()}, ${who} wrote:\n${text.trimEnd().replace(/^/gm, '> ')}`;
}

const prefixed = (prefix: string, subject: string | null) =>
  new RegExp(`^${prefix}:`, 'i').test(subject ?? '') ? (subject ?? '') : `${prefix}: ${subject ?? ''}`;

/** Reply (or reply all, RFC 5322 3.6.4 threading headers). `me` is left out of the recipients. */
export function replyDraft(e: EmailFull, all: boolean, me: string): Draft {
  const to = e.replyTo?.length ? e.replyTo : (e.from ?? []);
  const others = all
    ? [...(e.to ?? []), ...(e.cc ?? [])].filter((a) => a.email.toLowerCase() !== me.toLowerCase())
    : [];
  return {
    to: formatAddresses(to),
    cc: formatAddresses(others.filter((a) => !to.some((t) => t.email === a.email))),
    subject: prefixed('Re', e.subject),
    body: quote(e),
    attachments: [],
    inReplyTo: e.messageId,
    references: [...(e.references ?? []), ...(e.messageId ?? [])],
  };
}

/** Forward: the text quoted, the attachments carried over by blobId. */
export function forwardDraft(e: EmailFull): Draft {
  return {
    ...emptyDraft(),
    subject: prefixed('Fwd', e.subject),
    body: `\n\n---------- Forwarded message ----------\nFrom: ${formatAddresses(e.from)}\nSubject: ${e.subject ?? ''}${quote(e)}`,
    attachments: e.attachments
      .filter((a) => a.blobId)
      .map((a) => ({ blobId: a.blobId!, name: a.name ?? 'attachment', type: a.type, size: a.size })),
  };
}
