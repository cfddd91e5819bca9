// SMTP junk-command limit (Postfix smtpd_junk_command_limit): NOOP/RSET/VRFY/HELP loops without mail end with 421 4.7.0.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SMTP_JUNK_COMMAND_LIMIT } from '../../../src/config/limits.js';
import { SmtpSession } from '../../../src/smtp/server/session.js';
import { fakeServices, testPeer, testPolicy } from '../../helpers/smtp-fakes.js';

function open() {
  const session = new SmtpSession({ policy: testPolicy(), services: fakeServices(), peer: testPeer() });
  session.greet();
  return session;
}

const JUNK = ['NOOP', 'RSET', 'VRFY jones', 'HELP'];

describe('junk command limit', () => {
  test('the limit-th junk command is answered; the next one gets 421 4.7.0, an event, and the close', async () => {
    const session = open();
    await session.feed(Buffer.from('EHLO c\r\n'));
    const lines = Array.from({ length: SMTP_JUNK_COMMAND_LIMIT }, (_, i) => `${JUNK[i % 4]}\r\n`).join('');
    const ok = await session.feed(Buffer.from(lines));
    assert.equal(ok.action, undefined);
    assert.equal(ok.replies.split('\r\n').filter((l) => /^2\d\d /.test(l)).length, SMTP_JUNK_COMMAND_LIMIT);
    const out = await session.feed(Buffer.from('NOOP\r\nMAIL FROM:<a@b.example>\r\n'));
    assert.match(out.replies, /^421 4\.7\.0 \S+ Error: too many commands without mail/);
    assert.equal(out.replies.split('\r\n').length, 2); // the rest of the chunk is not run
    assert.equal(out.action, 'close');
    assert.deepEqual(
      out.events.filter((e) => e.kind !== 'reply-error'),
      [{ kind: 'junk-limit', commands: SMTP_JUNK_COMMAND_LIMIT + 1 }],
    );
    assert.deepEqual(
      out.events.filter((e) => e.kind === 'reply-error').map((e) => e.kind === 'reply-error' && e.code),
      [421],
    );
    assert.equal(session.closed, true);
  });

  test('an accepted message resets the count; MAIL, RCPT and DATA are not junk', async () => {
    const session = open();
    await session.feed(Buffer.from('EHLO c\r\n'));
    const junk = (n: number) => Buffer.from('NOOP\r\n'.repeat(n));
    await session.feed(junk(SMTP_JUNK_COMMAND_LIMIT - 1));
    const sent = await session.feed(
      Buffer.from('MAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\nhi\r\n.\r\n'),
    );
    assert.match(sent.replies, /250 2\.0\.0 OK queued/);
    const out = await session.feed(junk(SMTP_JUNK_COMMAND_LIMIT));
    assert.equal(out.action, undefined);
    assert.doesNotMatch(out.replies, /^421/m);
  });
});
