// Email/sanitizedHtml (urn:mailroom:params:jmap:html): the HTML body chosen from the MIME tree, cid: images inlined, remote content counted, errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { processRequest, type MethodRegistry } from '../../../../src/jmap/core/engine.js';
import { userOfAccount } from '../../../../src/jmap/core/session.js';
import {
  HTML_CAPABILITY,
  htmlCapability,
  sanitizedHtmlHandler,
  type RawMessageSource,
} from '../../../../src/jmap/html/sanitized-html.js';
import { WEB_HTML_LIMITS } from '../../../../src/config/limits.js';

const CORE = 'urn:ietf:params:jmap:core';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

const related = [
  'From: a@example.org',
  'Subject: newsletter',
  'MIME-Version: 1.0',
  'Content-Type: multipart/alternative; boundary="alt"',
  '',
  '--alt',
  'Content-Type: text/plain',
  '',
  'plain version',
  '--alt',
  'Content-Type: multipart/related; boundary="rel"',
  '',
  '--rel',
  'Content-Type: text/html; charset=iso-8859-1',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  '<p onclick=3D"x()">caf=E9</p><img src=3D"cid:logo@x"><img src=3D"https://t.invalid/p.gif">',
  '<img src=3D"cid:svg@x"><script>alert(1)</script>',
  '--rel',
  'Content-Type: image/png',
  'Content-ID: <logo@x>',
  'Content-Transfer-Encoding: base64',
  '',
  PNG.toString('base64'),
  '--rel',
  'Content-Type: image/svg+xml',
  'Content-ID: <svg@x>',
  '',
  '<svg onload="alert(1)"/>',
  '--rel--',
  '--alt--',
  '',
].join('\r\n');

const plain = 'From: a@example.org\r\nSubject: hi\r\n\r\njust text\r\n';

const messages: Record<string, string> = { M1: related, M2: plain };
const source: RawMessageSource = {
  rawMessage: async (storeId, id) =>
    storeId === 7 && messages[id] !== undefined ? Buffer.from(messages[id]!) : null,
};
const user = userOfAccount({ id: 7, address: 'u@example.org' }, [htmlCapability()]);
const methods: MethodRegistry = new Map([['Email/sanitizedHtml', sanitizedHtmlHandler(source)]]);

async function call(args: Record<string, unknown>, using = [CORE, HTML_CAPABILITY]) {
  const response = await processRequest(
    { using, methodCalls: [['Email/sanitizedHtml', args, 'c0']] },
    { user, methods, limits: { maxObjectsInGet: 500, maxObjectsInSet: 500 }, sessionState: 's' },
  );
  return response.methodResponses[0]!;
}

describe('Email/sanitizedHtml', () => {
  test('the HTML alternative of a related part, charset and QP decoded, sanitised, cid: inlined, remote counted', async () => {
    const [name, result] = await call({ accountId: 'A7', ids: ['M1', 'M2', 'nope', 'M1'] });
    assert.equal(name, 'Email/sanitizedHtml');
    const list = result.list as { id: string; html: string | null; blockedRemote: number }[];
    assert.deepEqual(result.notFound, ['nope']);
    assert.equal(list.length, 2);
    const m1 = list[0]!;
    assert.equal(m1.id, 'M1');
    assert.match(m1.html!, /<p>café<\/p>/);
    assert.ok(m1.html!.includes(`<img src="data:image/png;base64,${PNG.toString('base64')}" />`), m1.html!);
    assert.doesNotMatch(m1.html!, /svg|script|t\.invalid|onclick/i);
    assert.equal(m1.blockedRemote, 1);
    assert.deepEqual(list[1], { id: 'M2', html: null, blockedRemote: 0 });
  });

  test('allowRemote keeps remote images', async () => {
    const [, result] = await call({ accountId: 'A7', ids: ['M1'], allowRemote: true });
    const [m1] = result.list as { html: string; blockedRemote: number }[];
    assert.match(m1!.html, /src="https:\/\/t\.invalid\/p\.gif"/);
    assert.equal(m1!.blockedRemote, 0);
  });

  test('errors: bad arguments, too many ids, another account, capability not in using', async () => {
    assert.equal((await call({ accountId: 'A7', ids: 'M1' }))[1].type, 'invalidArguments');
    assert.equal((await call({ accountId: 'A7', ids: [], allowRemote: 'yes' }))[1].type, 'invalidArguments');
    assert.equal((await call({ accountId: 'A7', ids: [], extra: 1 }))[1].type, 'invalidArguments');
    const many = Array.from({ length: WEB_HTML_LIMITS.maxIdsPerCall + 1 }, (_, i) => `M${i}`);
    assert.equal((await call({ accountId: 'A7', ids: many }))[1].type, 'requestTooLarge');
    assert.equal((await call({ accountId: 'A8', ids: ['M1'] }))[1].type, 'accountNotFound');
    assert.equal((await call({ accountId: 'A7', ids: ['M1'] }, [CORE]))[1].type, 'unknownMethod');
  });

  test('inline images past the size limits stay unresolved', async () => {
    const small = sanitizedHtmlHandler(source, { ...WEB_HTML_LIMITS, maxInlineImageBytes: 4 });
    const response = await processRequest(
      {
        using: [CORE, HTML_CAPABILITY],
        methodCalls: [['Email/sanitizedHtml', { accountId: 'A7', ids: ['M1'] }, 'c']],
      },
      {
        user,
        methods: new Map([['Email/sanitizedHtml', small]]),
        limits: { maxObjectsInGet: 500, maxObjectsInSet: 500 },
        sessionState: 's',
      },
    );
    const [m1] = response.methodResponses[0]![1].list as { html: string }[];
    assert.doesNotMatch(m1!.html, /data:/);
  });
});
