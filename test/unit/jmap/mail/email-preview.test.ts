// Email/get's preview (RFC 8621 4.1.4) is computed from the message once and kept in the store: a page read again after a restart parses no message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processRequest } from '../../../../src/jmap/core/engine.js';
import { userOfAccount } from '../../../../src/jmap/core/session.js';
import { mailCapabilities, mailMethods } from '../../../../src/jmap/mail/index.js';
import { mailBench, USING } from '../../../helpers/jmap-mail.js';

const MESSAGE = `From: Ann <ann@example.test>
Subject: Lunch
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Shall we meet at noon? The caf=C3=A9 on the corner.
`;

test('the preview is computed at the first Email/get, stored, and read from the store after a restart', async () => {
  const b = await mailBench();
  try {
    const id = await b.add('INBOX', MESSAGE);
    // Every way Email/get reads a message's bytes goes through these two.
    let reads = 0;
    const store = b.store;
    const readMessage = store.readMessage.bind(store);
    const openMessage = store.mail.openMessage.bind(store.mail);
    store.readMessage = (m) => (reads++, readMessage(m));
    store.mail.openMessage = (m) => (reads++, openMessage(m));
    const get = { accountId: b.accountId, ids: [id], properties: ['preview', 'keywords'] };

    const first = await b.call([['Email/get', get, 'g']]);
    const preview = (first[0]![1].list as { preview: string }[])[0]!.preview;
    assert.equal(preview, 'Shall we meet at noon? The café on the corner.');
    assert.equal(reads, 1, 'the first read parses the message');
    assert.equal(store.jmap.getEmails(b.storeId, [id])[0]?.preview, preview, 'and the store keeps it');

    // A restart: new method handlers, so nothing of the in-process value cache is left.
    const methods = mailMethods(b.deps);
    const account = store.getAccount('bob@example.test')!;
    const again = await processRequest(
      { using: USING, methodCalls: [['Email/get', get, 'g']] },
      {
        user: userOfAccount(account, mailCapabilities(b.deps)),
        methods,
        limits: { maxObjectsInGet: 500, maxObjectsInSet: 500 },
        sessionState: 's',
        onServerFail: (e) => {
          throw e;
        },
      },
    );
    const list = (again.methodResponses[0] as [string, { list: { preview: string }[] }, string])[1].list;
    assert.equal(list[0]!.preview, preview);
    assert.equal(reads, 1, 'the second read, after the restart, does not read or parse the message');
  } finally {
    await b.close();
  }
});
