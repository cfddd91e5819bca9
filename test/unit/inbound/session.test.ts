// The SMTP session with inbound checks (pure, fake services): who is checked, the verdicts' replies, Junk, the 554 greeting state.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OwnAuthResultsFilter } from '../../../src/inbound/auth-results.js';
import type { InboundChecks, InboundVerdict } from '../../../src/inbound/checks.js';
import { dnsblGreetingReply } from '../../../src/smtp/reply-codes.js';
import type { SmtpRole } from '../../../src/smtp/server/services.js';
import { SmtpSession } from '../../../src/smtp/server/session.js';
import { fakeServices, testPeer, testPolicy } from '../../helpers/smtp-fakes.js';

function fakeChecks(verdict: InboundVerdict['action'], trusted = false): InboundChecks & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    trusted: () => trusted,
    checkClient: async () => null,
    newFilter: () => new OwnAuthResultsFilter('mx.foo.com'),
    async checkMessage(body, ctx) {
      calls.push(`${ctx.sender} ${ctx.helo} ${ctx.remoteAddress} ${body.size}`);
      return { action: verdict, header: 'Authentication-Results: mx.foo.com; spf=pass\r\n' };
    },
  };
}

async function run(
  verdict: InboundVerdict['action'],
  opts: { role?: SmtpRole; trusted?: boolean; auth?: boolean } = {},
) {
  const services = fakeServices();
  const checks = fakeChecks(verdict, opts.trusted);
  services.inbound = checks;
  const session = new SmtpSession({
    policy: testPolicy({ role: opts.role ?? 'mx' }),
    services,
    peer: testPeer({ loopback: true }),
  });
  let out = session.greet().replies;
  const auth = opts.auth ? `AUTH PLAIN ${Buffer.from('\0jones@foo.com\0x').toString('base64')}\r\n` : '';
  out += (
    await session.feed(
      Buffer.from(
        `EHLO c.example\r\n${auth}MAIL FROM:<jones@foo.com>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n` +
          'Authentication-Results: MX.FOO.COM; dkim=pass\r\nSubject: s\r\n\r\nbody\r\n.\r\n',
      ),
    )
  ).replies;
  return { services, checks, last: out.trim().split('\r\n').at(-1)! };
}

describe('SMTP session with inbound checks', () => {
  test('MX from a stranger: checked once with the envelope facts; AR after Received; forged AR removed', async () => {
    const { services, checks, last } = await run({ kind: 'deliver', junk: false });
    assert.match(last, /^250 /);
    assert.deepEqual(checks.calls, ['jones@foo.com c.example 192.0.2.7 20']);
    const req = services.delivered[0]!;
    assert.match(req.traceHeaders, /^Received: [^]*\r\nAuthentication-Results: mx\.foo\.com; spf=pass\r\n$/);
    assert.equal(services.bodies[0], 'Subject: s\r\n\r\nbody\r\n');
    assert.deepEqual(req.local, [{ accountId: 1 }]);
  });

  test('quarantine: every local copy goes to the \\Junk special use', async () => {
    const { services } = await run({ kind: 'deliver', junk: true });
    assert.deepEqual(services.delivered[0]!.local, [{ accountId: 1, specialUse: '\\Junk' }]);
  });

  test('reject and defer: 550 5.7.1 / 451 4.4.3, the body dropped, nothing delivered', async () => {
    const dmarc = await run({ kind: 'reject', reason: 'dmarc', domain: 'b.example' });
    assert.equal(dmarc.last, '550 5.7.1 Rejected by DMARC policy of b.example');
    assert.equal(dmarc.services.delivered.length, 0);
    assert.equal(dmarc.services.aborted, 1);
    const spoof = await run({ kind: 'reject', reason: 'local-domain', domain: 'foo.com' });
    assert.match(spoof.last, /^550 5\.7\.1 Not authorized to send mail as foo\.com/);
    const later = await run({ kind: 'defer', reason: 'dmarc', domain: 'b.example' });
    assert.match(later.last, /^451 4\.4\.3 /);
    assert.equal(later.services.delivered.length, 0);
    // a domain that is not a plain name is not echoed (no reply injection)
    const odd = await run({ kind: 'reject', reason: 'dmarc', domain: 'x\r\n250 ok' });
    assert.equal(odd.last, '550 5.7.1 Rejected by DMARC policy of the sender domain');
  });

  test('not checked: submission, an authenticated MX session, a trusted network', async () => {
    const reject = { kind: 'reject', reason: 'dmarc', domain: 'b.example' } as const;
    for (const opts of [{ role: 'submission' as const, auth: true }, { auth: true }, { trusted: true }]) {
      const { checks, services, last } = await run(reject, opts);
      assert.match(last, /^250 /, JSON.stringify(opts));
      assert.equal(checks.calls.length, 0);
      assert.doesNotMatch(services.delivered[0]!.traceHeaders, /Authentication-Results/);
    }
  });

  test('the log events: verdicts on the accepted line; inbound-checked only for a refusal or forged fields', async () => {
    const eventsOf = async (verdict: InboundVerdict['action'], forged: boolean) => {
      const services = fakeServices();
      services.inbound = fakeChecks(verdict);
      const session = new SmtpSession({ policy: testPolicy(), services, peer: testPeer() });
      session.greet();
      const out = await session.feed(
        Buffer.from(
          'EHLO c.example\r\nMAIL FROM:<jones@foo.com>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n' +
            (forged ? 'Authentication-Results: mx.foo.com; dkim=pass\r\n' : '') +
            'Subject: s\r\n\r\nbody\r\n.\r\n',
        ),
      );
      return out.events.filter((e) => e.kind === 'accepted' || e.kind === 'inbound-checked');
    };
    // Let through: one event, the accepted message with its verdicts (data.ts authVerdicts).
    const plain = await eventsOf({ kind: 'deliver', junk: false }, false);
    assert.deepEqual(
      plain.map((e) => [e.kind, 'auth' in e ? e.auth : undefined]),
      [['accepted', 'spf=pass']],
    );
    const junk = await eventsOf({ kind: 'deliver', junk: true }, false);
    assert.deepEqual(
      junk.map((e) => ('auth' in e ? e.auth : e.kind)),
      ['spf=pass (quarantined to Junk)'],
    );
    // A forged Authentication-Results removed: said on its own line too.
    const forged = await eventsOf({ kind: 'deliver', junk: false }, true);
    assert.deepEqual(
      forged.map((e) => e.kind),
      ['inbound-checked', 'accepted'],
    );
    assert.deepEqual(forged[0], { kind: 'inbound-checked', action: 'deliver', removedForged: 1 });
    // Refused: the verdict's line, and no accepted one.
    const refused = await eventsOf({ kind: 'reject', reason: 'dmarc', domain: 'b.example' }, false);
    assert.deepEqual(refused, [{ kind: 'inbound-checked', action: 'reject', removedForged: 0 }]);
  });

  test('the trusted_networks verdict is asked once per session, not on every DATA', async () => {
    for (const trusted of [false, true]) {
      const services = fakeServices();
      const checks = fakeChecks({ kind: 'deliver', junk: false }, trusted);
      let asked = 0;
      services.inbound = { ...checks, trusted: () => (asked++, trusted) };
      const session = new SmtpSession({ policy: testPolicy(), services, peer: testPeer() });
      session.greet();
      const message =
        'MAIL FROM:<jones@foo.com>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\nSubject: s\r\n\r\nb\r\n.\r\n';
      const out = await session.feed(Buffer.from(`EHLO c.example\r\n${message.repeat(3)}`));
      assert.equal(out.replies.match(/^250 2\.0\.0 /gm)?.length, 3);
      assert.equal(services.delivered.length, 3);
      assert.equal(checks.calls.length, trusted ? 0 : 3); // a stranger is still checked on every message
      assert.equal(asked, 1, `trusted=${trusted}`);
    }
  });

  test('a 554 greeting (DNSBL): every command but QUIT gets 503, QUIT gets 221 and closes (RFC 5321 3.1)', async () => {
    const session = new SmtpSession({ policy: testPolicy(), services: fakeServices(), peer: testPeer() });
    assert.match(
      session.greet(dnsblGreetingReply('mx.foo.com', 'bl.test')).replies,
      /^554 mx\.foo\.com .*bl\.test\r\n$/,
    );
    const out = await session.feed(Buffer.from('EHLO x\r\nMAIL FROM:<a@b>\r\nNOOP\r\nRSET\r\nQUIT\r\n'));
    assert.deepEqual(
      out.replies
        .trim()
        .split('\r\n')
        .map((l) => l.slice(0, 3)),
      ['503', '503', '503', '503', '221'],
    );
    assert.equal(out.action, 'quit'); // the client's own QUIT: closed without draining (close-drain.ts closeAfterQuit)
  });
});
