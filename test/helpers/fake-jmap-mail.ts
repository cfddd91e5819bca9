// A stand-in for JMAP Mail (RFC 8621) in browser tests, answering the web mail's calls with RFC shapes while the real methods are not there yet.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sanitizeMessageHtml } from '../../src/mail/html-sanitize.js';

type Invocation = [string, Record<string, unknown>, string];

export interface FakeEmail {
  id: string;
  from: string;
  subject: string;
  html: string | null;
  text: string;
  seen?: boolean;
}

export const MAILBOXES = [
  { id: 'mb-inbox', name: 'INBOX', role: 'inbox', sortOrder: 0 },
  { id: 'mb-drafts', name: 'Drafts', role: 'drafts', sortOrder: 1 },
  { id: 'mb-sent', name: 'Sent', role: 'sent', sortOrder: 2 },
  { id: 'mb-junk', name: 'Junk', role: 'junk', sortOrder: 3 },
  { id: 'mb-trash', name: 'Trash', role: 'trash', sortOrder: 4 },
];

/** The hostile corpus as inbox messages, `{{TRACKER}}` pointing at `tracker`. */
export function corpusEmails(tracker: string): FakeEmail[] {
  const dir = join(import.meta.dirname, '../fixtures/hostile-html');
  const files = [
    'script',
    'event-handlers',
    'javascript-links',
    'svg',
    'css',
    'base-meta',
    'forms',
    'tracking',
  ];
  return files.map((f, i) => ({
    id: `e${i + 1}`,
    from: `Mallory ${f}`,
    subject: `Hostile ${f}`,
    html: readFileSync(join(dir, `${f}.html`), 'utf8').replaceAll('{{TRACKER}}', tracker),
    text: `text of ${f}`,
  }));
}

/** Answers one JMAP request body; `log` receives every call (tests inspect what the client sent). */
export function fakeMail(emails: FakeEmail[], log: Invocation[], username: string) {
  const byId = new Map(emails.map((e) => [e.id, e]));
  const summary = (e: FakeEmail, i: number) => ({
    id: e.id,
    threadId: `t-${e.id}`,
    mailboxIds: { 'mb-inbox': true },
    keywords: e.seen ? { $seen: true } : {},
    from: [{ name: e.from, email: `${e.id}@sender.test` }],
    to: [{ name: null, email: username }],
    cc: null,
    subject: e.subject,
    receivedAt: new Date(Date.UTC(2026, 0, 1, 12, 0, 0) - i * 60_000).toISOString(),
    preview: e.text.slice(0, 80),
    hasAttachment: false,
  });
  const full = (e: FakeEmail, i: number) => ({
    ...summary(e, i),
    replyTo: null,
    messageId: [`${e.id}@sender.test`],
    references: null,
    sentAt: null,
    textBody: [
      {
        partId: '1',
        blobId: 'B1',
        size: e.text.length,
        name: null,
        type: 'text/plain',
        cid: null,
        disposition: null,
      },
    ],
    htmlBody: e.html
      ? [
          {
            partId: '2',
            blobId: 'B2',
            size: e.html.length,
            name: null,
            type: 'text/html',
            cid: null,
            disposition: null,
          },
        ]
      : [],
    attachments: [],
    bodyValues: { '1': { value: e.text, isEncodingProblem: false, isTruncated: false } },
  });
  return (body: string): { methodResponses: Invocation[]; sessionState: string } => {
    const request = JSON.parse(body) as { methodCalls: Invocation[] };
    const out: Invocation[] = [];
    let lastIds: string[] = [];
    for (const call of request.methodCalls) {
      log.push(call);
      const [name, args, id] = call;
      const accountId = args.accountId;
      switch (name) {
        case 'Mailbox/get':
          out.push([
            name,
            {
              accountId,
              state: '1',
              list: MAILBOXES.map((m) => ({
                ...m,
                parentId: null,
                totalEmails: m.role === 'inbox' ? emails.length : 0,
                unreadEmails: m.role === 'inbox' ? emails.filter((e) => !e.seen).length : 0,
              })),
              notFound: [],
            },
            id,
          ]);
          break;
        case 'Email/query': {
          const filter = args.filter as { inMailbox: string; text?: string };
          const found =
            filter.inMailbox === 'mb-inbox'
              ? emails.filter((e) => !filter.text || e.subject.includes(filter.text))
              : [];
          const position = Number(args.position ?? 0);
          lastIds = found.slice(position, position + Number(args.limit ?? 50)).map((e) => e.id);
          out.push([
            name,
            {
              accountId,
              queryState: '1',
              canCalculateChanges: false,
              position,
              ids: lastIds,
              total: found.length,
            },
            id,
          ]);
          break;
        }
        case 'Email/get': {
          const ids = (args.ids as string[] | undefined) ?? lastIds;
          const props = args.properties as string[];
          const list = ids.flatMap((eid) => {
            const e = byId.get(eid);
            if (!e) return [];
            const i = emails.indexOf(e);
            return [props.includes('bodyValues') ? full(e, i) : summary(e, i)];
          });
          out.push([name, { accountId, state: '1', list, notFound: [] }, id]);
          break;
        }
        case 'Email/sanitizedHtml': {
          const list = (args.ids as string[]).map((eid) => {
            const e = byId.get(eid)!;
            const r = sanitizeMessageHtml(e.html ?? '', {
              allowRemote: args.allowRemote === true,
              resolveCid: () => 'data:image/png;base64,iVBORw0KGgo=',
            });
            return { id: eid, ...r };
          });
          out.push([name, { accountId, list, notFound: [] }, id]);
          break;
        }
        case 'Email/set': {
          const updated = Object.fromEntries(
            Object.keys((args.update as object | undefined) ?? {}).map((k) => [k, null]),
          );
          for (const [eid, patch] of Object.entries(
            (args.update as Record<string, Record<string, unknown>>) ?? {},
          )) {
            const e = byId.get(eid);
            if (e && patch['keywords/$seen'] !== undefined) e.seen = patch['keywords/$seen'] === true;
          }
          const created = Object.fromEntries(
            Object.keys((args.create as object | undefined) ?? {}).map((k, n) => [
              k,
              { id: `new-${log.length}-${n}`, threadId: 't', blobId: 'b', size: 1 },
            ]),
          );
          out.push([
            name,
            { accountId, oldState: '1', newState: '2', created, updated, destroyed: args.destroy ?? [] },
            id,
          ]);
          break;
        }
        case 'EmailSubmission/set':
          out.push([
            name,
            { accountId, oldState: '1', newState: '2', created: { send: { id: 'S1', undoStatus: 'final' } } },
            id,
          ]);
          break;
        case 'Identity/get':
          out.push([
            name,
            {
              accountId,
              state: '1',
              list: [
                {
                  id: 'I1',
                  name: 'Alice',
                  email: username,
                  replyTo: null,
                  bcc: null,
                  textSignature: '',
                  htmlSignature: '',
                  mayDelete: false,
                },
              ],
              notFound: [],
            },
            id,
          ]);
          break;
        default:
          out.push(['error', { type: 'unknownMethod' }, id]);
      }
    }
    return { methodResponses: out, sessionState: 'fake' };
  };
}
