// Email/get's hasAttachment and Email/query's hasAttachment filter follow one rule (RFC 8621 4.1.1): an
// inline image alone (a picture in the HTML) is not an attachment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mailBench } from '../../../helpers/jmap-mail.js';

const related = (disposition: string) => `Subject: pic ${disposition}
MIME-Version: 1.0
Content-Type: multipart/related; boundary="r"

--r
Content-Type: text/html

<p><img src="cid:pic@x"></p>
--r
Content-Type: image/png
Content-ID: <pic@x>
Content-Disposition: ${disposition}; filename="pic.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--r--
`;

test('an inline image: hasAttachment false in Email/get and not matched by the filter; an attached one: true in both', async () => {
  const b = await mailBench();
  try {
    const inline = await b.add('INBOX', related('inline'));
    const attached = await b.add('INBOX', related('attachment'));
    const responses = await b.call([
      ['Email/get', { accountId: b.accountId, ids: [inline, attached], properties: ['hasAttachment'] }, 'g'],
      ['Email/query', { accountId: b.accountId, filter: { hasAttachment: true } }, 'q'],
    ]);
    const get = responses[0]![1];
    const query = responses[1]![1];
    const list = get.list as { id: string; hasAttachment: boolean }[];
    assert.deepEqual(
      list.map((e) => [e.id, e.hasAttachment]),
      [
        [inline, false],
        [attached, true],
      ],
    );
    assert.deepEqual(query.ids, [attached]);
  } finally {
    await b.close();
  }
});
