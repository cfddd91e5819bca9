// SearchSnippet/get (RFC 8621 5.1): subject and preview with the filter's terms in <mark>, HTML-escaped; the RFC's example shape.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mailBench, type MailBench } from '../../../helpers/jmap-mail.js';
import { markPreview, markSubject } from '../../../../src/jmap/mail/search-snippet.js';

let b: MailBench;
let m1: string;
let m2: string;
before(async () => {
  b = await mailBench();
  m1 = await b.add(
    'INBOX',
    'Subject: =?utf-8?q?The_<Quick>_Fox?=\n\nA lazy dog & a quick brown fox jumped.\n',
  );
  m2 = await b.add(
    'INBOX',
    'Subject: unrelated\nContent-Type: text/html\n\n<p>' +
      'filler words '.repeat(40) +
      'the <b>FOX</b> &lt;script&gt;</p>\n',
  );
});
after(() => b.close());

test('RFC 8621 5.1 example shape: list of {emailId, subject, preview}, notFound; marks escaped', async () => {
  const [[name, r]] = (await b.call([
    [
      'SearchSnippet/get',
      { accountId: b.accountId, filter: { text: 'fox' }, emailIds: [m1, m2, 'Mzzzz'] },
      's',
    ],
  ])) as [[string, Record<string, unknown>, string]];
  assert.equal(name, 'SearchSnippet/get');
  assert.deepEqual(r.notFound, ['Mzzzz']);
  const [a, c] = r.list as Array<Record<string, string | null>>;
  assert.deepEqual(a, {
    emailId: m1,
    subject: 'The &lt;Quick&gt; <mark>Fox</mark>',
    preview: 'A lazy dog &amp; a quick brown <mark>fox</mark> jumped.',
  });
  assert.equal(c!.subject, null, 'no match in the subject');
  assert.match(c!.preview!, /<mark>FOX<\/mark> &lt;script&gt;$/);
  assert.ok(c!.preview!.replace(/<\/?mark>/g, '').length <= 255 + 20);
});

test('terms under NOT mark nothing; subject/body conditions mark only their own field; errors', async () => {
  const [[, r]] = (await b.call([
    [
      'SearchSnippet/get',
      {
        accountId: b.accountId,
        filter: {
          operator: 'AND',
          conditions: [{ subject: 'quick' }, { operator: 'NOT', conditions: [{ body: 'dog' }] }],
        },
        emailIds: [m1],
      },
      's',
    ],
  ])) as [[string, Record<string, unknown>, string]];
  assert.deepEqual(r.list, [{ emailId: m1, subject: 'The &lt;<mark>Quick</mark>&gt; Fox', preview: null }]);
  const [[n2, e]] = (await b.call([
    ['SearchSnippet/get', { accountId: b.accountId, emailIds: 'x' }, 's'],
  ])) as [[string, Record<string, unknown>, string]];
  assert.deepEqual([n2, e.type], ['error', 'invalidArguments']);
  const [[n3, e3]] = (await b.call([
    [
      'SearchSnippet/get',
      { accountId: b.accountId, emailIds: Array.from({ length: 1000 }, (_, i) => `M${i + 1}`) },
      's',
    ],
  ])) as [[string, Record<string, unknown>, string]];
  assert.deepEqual([n3, e3.type], ['error', 'requestTooLarge']);
});

test('markSubject / markPreview: pure rows (hostile text, overlapping terms, Unicode case)', () => {
  assert.equal(
    markSubject('<img src=x onerror=alert(1)> Ärger', ['ärger']),
    '&lt;img src=x onerror=alert(1)&gt; <mark>Ärger</mark>',
  );
  assert.equal(markSubject('abcdef', ['abc', 'cde']), '<mark>abcde</mark>f');
  assert.equal(markSubject('x', []), null);
  assert.equal(markPreview('no match here', ['zzz']), null);
  assert.equal(markPreview('a  b\n\nc fox', ['fox']), 'a b c <mark>fox</mark>');
});
