// Random JMAP method calls over real HTTP: whatever the arguments, every call answers a result or an RFC 8620 error, never serverFail or a 5xx.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startJmapServer, type JmapTestServer } from '../helpers/jmap-server.js';
import { seededRandom } from '../helpers/random-text.js';

const USING = [
  'urn:ietf:params:jmap:core',
  'urn:ietf:params:jmap:mail',
  'urn:ietf:params:jmap:submission',
  'urn:ietf:params:jmap:vacationresponse',
];
const METHODS = [
  'Core/echo',
  ...['Mailbox', 'Email', 'EmailSubmission'].flatMap((t) =>
    ['get', 'changes', 'query', 'queryChanges', 'set'].map((m) => `${t}/${m}`),
  ),
  'Thread/get',
  'Thread/changes',
  'Email/copy',
  'Email/import',
  'Email/parse',
  'SearchSnippet/get',
  'Identity/get',
  'Identity/changes',
  'Identity/set',
  'VacationResponse/get',
  'VacationResponse/set',
  'Blob/copy',
];
const ARGS = [
  'ids', 'properties', 'sinceState', 'maxChanges', 'filter', 'sort', 'position', 'anchor', 'anchorOffset',
  'limit', 'calculateTotal', 'collapseThreads', 'create', 'update', 'destroy', 'ifInState',
  'onDestroyRemoveEmails', 'fromAccountId', 'onSuccessDestroyOriginal', 'emails', 'blobIds',
  'bodyProperties', 'fetchTextBodyValues', 'fetchHTMLBodyValues', 'fetchAllBodyValues', 'maxBodyValueBytes',
  'sinceQueryState', 'upToId', 'emailIds', 'onSuccessUpdateEmail', 'onSuccessDestroyEmail',
]; // prettier-ignore
const PROPERTIES = [
  'id', 'blobId', 'threadId', 'mailboxIds', 'keywords', 'size', 'receivedAt', 'from', 'to', 'subject',
  'sentAt', 'preview', 'bodyStructure', 'bodyValues', 'textBody', 'htmlBody', 'attachments', 'headers',
  'header:Subject:asText', 'header:From:asAddresses:all', 'header:Date:asDate', 'header:X:asRaw',
  'header:List-Post:asURLs', 'header:Message-ID:asMessageIds', 'name', 'role', 'parentId', 'partId',
  'type', 'charset', 'cid', 'subParts', 'emailIds', 'bogus', 'header:', 'header:a:b:c:d',
]; // prettier-ignore
const FILTER_KEYS = [
  'inMailbox', 'inMailboxOtherThan', 'before', 'after', 'minSize', 'maxSize', 'hasKeyword', 'notKeyword',
  'allInThreadHaveKeyword', 'someInThreadHaveKeyword', 'noneInThreadHaveKeyword', 'hasAttachment', 'text',
  'from', 'subject', 'body', 'header', 'parentId', 'name', 'role', 'hasAnyRole', 'isSubscribed',
  'identityIds', 'emailIds', 'threadIds', 'undoStatus', 'bogus',
]; // prettier-ignore

const MESSAGES = [
  'From: Ann <ann@example.net>\r\nTo: bob@example.test\r\nSubject: plain\r\nMessage-ID: <p1@x>\r\n\r\nhello there\r\n',
  'From: ann@example.net\r\nSubject: Re: plain\r\nIn-Reply-To: <p1@x>\r\nReferences: <p1@x>\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ntext part\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html <img src="cid:i1"> part</p>\r\n--b--\r\n',
  'From: c@example.org\r\nSubject: attachment\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--m\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--m\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.org\r\nSubject: inner\r\n\r\ninner body\r\n--m--\r\n',
  'From: =?iso-8859-1?q?J=F6rg?= <j@example.de>\r\nSubject: =?utf-8?q?=C3=A9t=C3=A9?=\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n',
];

let jmap: JmapTestServer;
let base: string;
let auth: string;
let accountId: string;

before(async () => {
  // No mail listeners; nothing here may reach the network: a submission the fuzzer managed to make would
  // find no DNS.
  jmap = await startJmapServer('[dns]\nservers = ["127.0.0.1:9"]', []);
  ({ base } = jmap);
  ({ auth, id: accountId } = jmap.bob);
});

after(() => jmap.close());

async function api(methodCalls: unknown[]): Promise<{ status: number; body: string }> {
  const res = await fetch(`${base}/jmap/api`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ using: USING, methodCalls }),
  });
  return { status: res.status, body: await res.text() };
}

test('600 requests of random calls with random arguments: no serverFail, no 5xx, and real work done', async () => {
  // A few real Emails, so ids, blobs and threads exist for the calls to find.
  const known: string[] = [accountId, 'nope', '', 'x'.repeat(300), '#c0', '#nope'];
  for (const text of MESSAGES) {
    const up = await fetch(`${base}/jmap/upload/${accountId}/`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'message/rfc822' },
      body: text,
    });
    const { blobId } = (await up.json()) as { blobId: string };
    const [mailboxes] = JSON.parse((await api([['Mailbox/get', { accountId, ids: null }, 'm']])).body)
      .methodResponses as [[string, { list: { id: string }[] }, string]];
    const inbox = mailboxes[1].list[0]!.id;
    const r = await api([
      ['Email/import', { accountId, emails: { e: { blobId, mailboxIds: { [inbox]: true } } } }, 'i'],
    ]);
    assert.equal(r.status, 200);
    known.push(blobId, inbox);
  }

  const rand = seededRandom(20261207);
  const pick = <T>(a: readonly T[]): T => a[rand(a.length)] as T;
  const scalar = () =>
    pick<unknown>([
      null,
      true,
      false,
      0,
      -1,
      1,
      2 ** 53,
      1e308,
      0.5,
      '',
      'x',
      'é'.repeat(3),
      'a'.repeat(5000),
    ]);
  const filter = (depth: number): unknown =>
    depth > 4 || rand(10) < 6
      ? Object.fromEntries(
          Array.from({ length: 1 + rand(3) }, () => [
            pick(FILTER_KEYS),
            pick<unknown>([pick(known), '2020-01-01T00:00:00Z', 'bad date', 1000, -5, true, '$seen', ['Subject'], ['Subject', 'hi'], [pick(known)], 'hello "a phrase"', null]), // prettier-ignore
          ]),
        )
      : { operator: pick(['AND', 'OR', 'NOT', 'XOR']), conditions: Array.from({ length: rand(3) }, () => filter(depth + 1)) }; // prettier-ignore
  const value = (depth: number): unknown => {
    const r = rand(100);
    if (depth > 3 || r < 15) return scalar();
    if (r < 30) return pick(known);
    if (r < 45) return Array.from({ length: rand(4) }, () => (rand(10) < 6 ? pick(known) : value(depth + 1)));
    if (r < 55) return Array.from({ length: rand(4) }, () => pick(PROPERTIES));
    if (r < 65) return filter(depth + 1);
    if (r < 72) return [{ property: pick(['receivedAt', 'size', 'from', 'subject', 'hasKeyword', 'name', 'bogus']), isAscending: pick([true, false, 1]), keyword: pick(['$seen', '', 7]), collation: pick(['i;unicode-casemap', 'i;bogus', 3]) }]; // prettier-ignore
    if (r < 80) return { resultOf: pick(['c0', 'c1', 'x']), name: pick(METHODS), path: pick(['/ids', '/list/*/id', '/list/*/threadId', '/*', '']) }; // prettier-ignore
    return Object.fromEntries(Array.from({ length: rand(4) }, () => [pick([...PROPERTIES, 'c1', pick(known)]), value(depth + 1)])); // prettier-ignore
  };

  const failures: string[] = [];
  let answered = 0;
  for (let n = 0; n < 600; n++) {
    const calls = Array.from({ length: 1 + rand(3) }, (_, i) => {
      const args: Record<string, unknown> = rand(10) < 9 ? { accountId } : { accountId: value(0) };
      for (let k = rand(5); k > 0; k--) {
        const name = pick(ARGS);
        if (rand(5) === 0) {
          args[`#${name}`] = { resultOf: `c${Math.max(0, i - 1)}`, name: pick(METHODS), path: pick(['/ids', '/list/*/id']) }; // prettier-ignore
        } else args[name] = value(0);
      }
      return [pick(METHODS), args, `c${i}`];
    });
    const { status, body } = await api(calls);
    if (status >= 500) failures.push(`${status} for ${JSON.stringify(calls).slice(0, 500)}`);
    if (status !== 200) continue;
    const responses = (JSON.parse(body) as { methodResponses: [string, { type?: string }][] })
      .methodResponses;
    for (const [name, result] of responses) {
      if (name === 'error' && result.type === 'serverFail') failures.push(`serverFail for ${JSON.stringify(calls).slice(0, 500)}`); // prettier-ignore
      if (name !== 'error') answered++;
    }
  }
  assert.deepEqual(failures, []);
  // Not only refusals: a good share of the calls got through their argument checks and ran.
  assert.ok(answered > 150, `only ${answered} calls answered with a result`);
});
