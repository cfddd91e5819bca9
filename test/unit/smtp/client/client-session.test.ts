// Scripted-transcript tests for the pure SMTP client session: RFC 5321 D.1, pipelining, failures at every step.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ClientSession, type ClientSessionOptions } from '../../../../src/smtp/client/client-session.js';
import type { OutboundMessage } from '../../../../src/smtp/client/client-commands.js';
import { CLIENT_TIMEOUTS_MS, type RecipientResult } from '../../../../src/smtp/client/client-types.js';
import { FakeServer, drive, ehloReply, type CommandHandler, type DriveOptions } from './fake-peer.js';

const BODY = Buffer.from('From: Smith@bar.com\r\nSubject: hi\r\n\r\nBlah blah blah...\r\n.hidden dot\r\n');

function msg(over: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    id: 'Q1',
    sender: 'Smith@bar.com',
    recipients: [{ address: 'Jones@foo.com' }, { address: 'Green@foo.com' }, { address: 'Brown@foo.com' }],
    size: BODY.length,
    eightBit: false,
    smtpUtf8: false,
    ...over,
  };
}

/** A peer that accepts everything except what `refuse` says, with the given EHLO extensions. */
function peerHandler(extensions: string[], refuse: Record<string, string> = {}): CommandHandler {
  return (line) => {
    for (const [prefix, reply] of Object.entries(refuse)) if (line.startsWith(prefix)) return reply;
    if (line.startsWith('EHLO')) return ehloReply('foo.com', extensions);
    if (line.startsWith('HELO')) return '250 foo.com\r\n';
    if (line === 'STARTTLS') return '220 2.0.0 go ahead\r\n';
    if (line.startsWith('AUTH')) return '235 2.7.0 ok\r\n';
    if (line.startsWith('MAIL')) return '250 OK\r\n';
    if (line.startsWith('RCPT')) return '250 OK\r\n';
    if (line === 'DATA') return '354 Start mail input; end with <CRLF>.<CRLF>\r\n';
    if (line === 'RSET') return '250 OK\r\n';
    if (line === 'QUIT') return '221 foo.com Service closing transmission channel\r\n';
    if (line.startsWith('BDAT')) return '';
    return '500 what\r\n';
  };
}

function peer(
  extensions: string[],
  refuse: Record<string, string> = {},
  onMessage?: (b: Buffer) => string,
): FakeServer {
  const handler = peerHandler(extensions, refuse);
  return new FakeServer('220 foo.com Simple Mail Transfer Service Ready\r\n', handler, onMessage);
}

function run(
  server: FakeServer,
  messages: OutboundMessage[],
  opts: Partial<ClientSessionOptions> = {},
  drv: DriveOptions = {},
) {
  const session = new ClientSession({ hostname: 'bar.com', messages, tls: 'opportunistic', ...opts });
  const bodies: Record<string, Buffer> = {};
  for (const m of messages) bodies[m.id] = BODY;
  const r = drive(session, server, { bodies, ...drv });
  return { ...r, session };
}

const outcomes = (rs: RecipientResult[] | undefined) => rs?.map((r) => `${r.address}:${r.outcome}`);

void describe('RFC 5321 D.1 typical transaction', () => {
  for (const bytewise of [false, true]) {
    void test(`one by one (replies ${bytewise ? 'split at every byte' : 'whole'})`, () => {
      const server = peer(['8BITMIME', 'SIZE', 'DSN', 'HELP'], {
        'RCPT TO:<Green@': '550 No such user here\r\n',
      });
      const r = run(server, [msg()], {}, { bytewise });
      assert.deepEqual(server.transcript, [
        'S: 220 foo.com Simple Mail Transfer Service Ready',
        'C: EHLO bar.com',
        'S: 250-foo.com greets you',
        'S: 250-8BITMIME',
        'S: 250-SIZE',
        'S: 250-DSN',
        'S: 250 HELP',
        `C: MAIL FROM:<Smith@bar.com> SIZE=${BODY.length}`,
        'S: 250 OK',
        'C: RCPT TO:<Jones@foo.com>',
        'S: 250 OK',
        'C: RCPT TO:<Green@foo.com>',
        'S: 550 No such user here',
        'C: RCPT TO:<Brown@foo.com>',
        'S: 250 OK',
        'C: DATA',
        'S: 354 Start mail input; end with <CRLF>.<CRLF>',
        `C: <body ${BODY.length} octets>`,
        'C: .',
        'S: 250 2.0.0 queued',
        'C: QUIT',
        'S: 221 foo.com Service closing transmission channel',
      ]);
      assert.deepEqual(outcomes(r.results.get('Q1')), [
        'Jones@foo.com:delivered',
        'Green@foo.com:failed',
        'Brown@foo.com:delivered',
      ]);
      const green = r.results.get('Q1')?.[1];
      assert.equal(green?.diagnostic, '550 No such user here');
      assert.equal(green?.stage, 'rcpt');
      assert.equal(r.results.get('Q1')?.[0]?.diagnostic, '250 2.0.0 queued');
      assert.ok(server.messages[0]?.equals(BODY), 'body arrives unchanged after dot-unstuffing');
      assert.equal(r.closed, true);
      assert.equal(r.session.tlsUsed, false);
    });
  }

  void test('pipelined (RFC 2920): MAIL, RCPTs and DATA go in one write', () => {
    const server = peer(['PIPELINING', '8BITMIME'], { 'RCPT TO:<Green@': '550 5.1.1 No such user here\r\n' });
    const r = run(server, [msg()], {}, { bytewise: true });
    const batch = server.sends.find((s) => s.toString().startsWith('MAIL'))?.toString();
    assert.equal(
      batch,
      'MAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\nRCPT TO:<Green@foo.com>\r\nRCPT TO:<Brown@foo.com>\r\nDATA\r\n',
    );
    assert.deepEqual(outcomes(r.results.get('Q1')), [
      'Jones@foo.com:delivered',
      'Green@foo.com:failed',
      'Brown@foo.com:delivered',
    ]);
    assert.equal(r.results.get('Q1')?.[1]?.reply?.enhanced, '5.1.1');
  });

  void test('pipelined, every RCPT refused: DATA refused, nothing delivered', () => {
    const server = peer(['PIPELINING'], {
      RCPT: '550 5.1.1 no\r\n',
      DATA: '554 5.5.1 no valid recipients\r\n',
    });
    const r = run(server, [msg()]);
    assert.deepEqual(
      r.results.get('Q1')?.map((x) => x.diagnostic),
      ['550 5.1.1 no', '550 5.1.1 no', '550 5.1.1 no'],
    );
    assert.equal(server.messages.length, 0);
  });

  void test('pipelined, all RCPT refused but a broken peer says 354: we send only "."', () => {
    const server = peer(['PIPELINING'], { RCPT: '450 4.2.0 busy\r\n' });
    const r = run(server, [msg()]);
    assert.deepEqual(server.messages, [Buffer.alloc(0)]);
    assert.ok(
      r.results.get('Q1')?.every((x) => x.outcome === 'deferred' && x.diagnostic === '450 4.2.0 busy'),
    );
  });
});

void describe('failures at each step', () => {
  type Row = {
    name: string;
    refuse: Record<string, string>;
    expect: string;
    stage: string;
    greeting?: string;
  };
  const rows: Row[] = [
    { name: 'EHLO 554', refuse: { EHLO: '554 5.7.1 go away\r\n' }, expect: 'failed', stage: 'ehlo' },
    { name: 'EHLO 451', refuse: { EHLO: '451 4.3.0 later\r\n' }, expect: 'deferred', stage: 'ehlo' },
    { name: 'MAIL 451', refuse: { MAIL: '451 4.3.0 later\r\n' }, expect: 'deferred', stage: 'mail' },
    { name: 'MAIL 550', refuse: { MAIL: '550 5.7.1 sender refused\r\n' }, expect: 'failed', stage: 'mail' },
    { name: 'RCPT 452', refuse: { RCPT: '452 4.5.3 too many\r\n' }, expect: 'deferred', stage: 'rcpt' },
    { name: 'RCPT 550', refuse: { RCPT: '550 5.1.1 unknown\r\n' }, expect: 'failed', stage: 'rcpt' },
    { name: 'DATA 451', refuse: { DATA: '451 4.3.0 later\r\n' }, expect: 'deferred', stage: 'data' },
    { name: 'DATA 554', refuse: { DATA: '554 5.6.0 no\r\n' }, expect: 'failed', stage: 'data' },
  ];
  for (const pipelining of [false, true]) {
    for (const row of rows) {
      void test(`${row.name} (${pipelining ? 'pipelined' : 'one by one'})`, () => {
        const server = peer(pipelining ? ['PIPELINING'] : [], row.refuse);
        const r = run(server, [msg()], {}, { bytewise: true });
        const rs = r.results.get('Q1') ?? [];
        assert.equal(rs.length, 3);
        for (const x of rs) {
          assert.equal(x.outcome, row.expect, x.diagnostic);
          assert.equal(x.stage, row.stage);
          assert.equal(x.diagnostic, Object.values(row.refuse)[0]?.trimEnd());
        }
        assert.equal(r.closed, true);
        assert.equal(server.transcript.at(-2), 'C: QUIT');
      });
    }
  }

  for (const [code, outcome] of [
    [451, 'deferred'],
    [552, 'failed'],
  ] as const) {
    void test(`end of data ${code} -> ${outcome}`, () => {
      const server = peer([], {}, () => `${code} ${code === 451 ? '4.3.0' : '5.3.4'} nope\r\n`);
      const r = run(server, [msg()]);
      assert.ok(r.results.get('Q1')?.every((x) => x.outcome === outcome && x.stage === 'data'));
    });
  }

  void test('greeting 554: failed, QUIT sent (RFC 5321 3.1)', () => {
    const server = new FakeServer('554 5.7.1 no service\r\n', (l) =>
      l === 'QUIT' ? '221 bye\r\n' : '500 ?\r\n',
    );
    const r = run(server, [msg()]);
    assert.ok(r.results.get('Q1')?.every((x) => x.outcome === 'failed' && x.stage === 'greeting'));
    assert.deepEqual(server.transcript, ['S: 554 5.7.1 no service', 'C: QUIT', 'S: 221 bye']);
  });

  void test('greeting 421: deferred, closed without QUIT', () => {
    const server = new FakeServer('421 4.3.2 busy\r\n', () => '500 ?\r\n');
    const r = run(server, [msg()]);
    assert.ok(r.results.get('Q1')?.every((x) => x.outcome === 'deferred'));
    assert.equal(server.transcript.length, 1);
    assert.equal(r.closed, true);
  });

  for (const pipelining of [false, true]) {
    void test(`421 mid-session after RCPT (${pipelining ? 'pipelined' : 'one by one'}): all deferred, no QUIT`, () => {
      const server = peer(pipelining ? ['PIPELINING'] : [], {
        'RCPT TO:<Green@': '421 4.4.2 foo.com closing\r\n',
        'RCPT TO:<Brown@': '421 4.4.2 foo.com closing\r\n',
        DATA: '421 4.4.2 foo.com closing\r\n',
      });
      const r = run(server, [msg(), msg({ id: 'Q2' })]);
      for (const id of ['Q1', 'Q2']) {
        assert.ok(
          r.results.get(id)?.every((x) => x.outcome === 'deferred'),
          id,
        );
      }
      assert.equal(r.results.get('Q1')?.[1]?.diagnostic, '421 4.4.2 foo.com closing');
      assert.ok(!server.transcript.includes('C: QUIT'));
      assert.equal(r.closed, true);
    });
  }

  void test('HELO fallback on 502 (RFC 5321 3.2)', () => {
    const server = peer([], { EHLO: '502 5.5.1 command not implemented\r\n' });
    const r = run(server, [msg()]);
    assert.ok(server.transcript.includes('C: HELO bar.com'));
    assert.ok(r.results.get('Q1')?.every((x) => x.outcome === 'delivered'));
    assert.equal(r.session.extensions.pipelining, false);
  });

  void test('timeout waiting for the end-of-data reply: deferred, close, 10 minute timer', () => {
    const server = peer([], {}, () => '');
    const session = new ClientSession({ hostname: 'bar.com', messages: [msg()], tls: 'none' });
    const r = drive(session, server, { bodies: { Q1: BODY } });
    const last = r.actions.filter((a) => a.type === 'timeout').at(-1);
    assert.deepEqual(last, {
      type: 'timeout',
      ms: CLIENT_TIMEOUTS_MS.dataEnd,
      waitingFor: 'reply to end of data',
    });
    const actions = session.onTimeout();
    assert.deepEqual(actions.at(-1), { type: 'close' });
    const done = actions.find((a) => a.type === 'message-done');
    assert.ok(done?.type === 'message-done');
    assert.ok(done.results.every((x) => x.outcome === 'deferred' && x.diagnostic.includes('timeout')));
    assert.deepEqual(session.onReply({ code: 250, enhanced: undefined, lines: ['late'] }), []);
  });

  void test('connection lost after the body was sent: deferred (a possible duplicate is the safe side)', () => {
    const server = peer([]);
    const r = run(server, [msg()], {}, { loseConnectionAfterSend: (d) => d === '.\r\n' });
    assert.ok(
      r.results.get('Q1')?.every((x) => x.outcome === 'deferred' && x.diagnostic.includes('ECONNRESET')),
    );
  });

  void test('RFC 5321 4.5.3.2 timers in order', () => {
    const server = peer([]);
    const r = run(server, [msg({ recipients: [{ address: 'a@foo.com' }] })]);
    const timers = r.actions
      .filter((a) => a.type === 'timeout')
      .map((a) => (a.type === 'timeout' ? a.ms : 0));
    const m = 60_000;
    assert.deepEqual(timers, [5 * m, 5 * m, 5 * m, 5 * m, 2 * m, 3 * m, 3 * m, 10 * m, 1 * m]);
  });
});

void describe('extensions', () => {
  void test('STARTTLS then EHLO again; TLS recorded', () => {
    const server = peer(['STARTTLS', 'PIPELINING']);
    const r = run(server, [msg()]);
    const cmds = server.transcript.filter((l) => l.startsWith('C: ')).slice(0, 3);
    assert.deepEqual(cmds, ['C: EHLO bar.com', 'C: STARTTLS', 'C: EHLO bar.com']);
    assert.equal(r.session.tlsUsed, true);
    assert.ok(r.results.get('Q1')?.every((x) => x.tls && x.outcome === 'delivered'));
  });

  void test('STARTTLS refused (454): opportunistic goes on in plaintext', () => {
    const server = peer(['STARTTLS'], { STARTTLS: '454 4.7.0 TLS not available\r\n' });
    const r = run(server, [msg()]);
    assert.equal(r.session.tlsUsed, false);
    assert.ok(r.results.get('Q1')?.every((x) => !x.tls && x.outcome === 'delivered'));
  });

  void test('TLS handshake fails: deferred at starttls, connection closed', () => {
    const server = peer(['STARTTLS']);
    const r = run(server, [msg()], {}, { tlsFails: true });
    assert.ok(r.results.get('Q1')?.every((x) => x.outcome === 'deferred' && x.stage === 'starttls'));
  });

  void test('TLS required but not offered: deferred', () => {
    const server = peer([]);
    const r = run(server, [msg()], { tls: 'required' });
    assert.ok(r.results.get('Q1')?.every((x) => x.outcome === 'deferred' && x.stage === 'starttls'));
    assert.ok(!server.transcript.some((l) => l.startsWith('C: MAIL')));
  });

  void test('AUTH PLAIN to a smarthost over TLS; the credentials are marked sensitive', () => {
    const server = peer(['STARTTLS', 'AUTH PLAIN LOGIN']);
    const r = run(server, [msg()], { tls: 'required', auth: { username: 'u', password: 'p' } });
    const authSend = r.actions.find((a) => a.type === 'send' && a.data.toString().startsWith('AUTH'));
    assert.deepEqual(authSend, {
      type: 'send',
      data: Buffer.from(`AUTH PLAIN ${Buffer.from('\0u\0p').toString('base64')}\r\n`),
      sensitive: true,
    });
    assert.ok(r.results.get('Q1')?.every((x) => x.outcome === 'delivered'));
  });

  void test('AUTH LOGIN (old "AUTH=LOGIN" syntax)', () => {
    let step = 0;
    const server = new FakeServer('220 hi\r\n', (line) => {
      if (line.startsWith('EHLO')) return ehloReply('x', ['AUTH=LOGIN']);
      if (line === 'AUTH LOGIN') return '334 VXNlcm5hbWU6\r\n';
      if (step === 0 && line === Buffer.from('user').toString('base64'))
        return (step++, '334 UGFzc3dvcmQ6\r\n');
      if (step === 1 && line === Buffer.from('pw').toString('base64')) return (step++, '235 2.7.0 ok\r\n');
      if (line === 'DATA') return '354 go\r\n';
      return line === 'QUIT' ? '221 bye\r\n' : '250 ok\r\n';
    });
    const r = run(server, [msg()], {
      tls: 'none',
      auth: { username: 'user', password: 'pw', allowPlaintextAuth: true },
    });
    assert.equal(step, 2);
    assert.ok(r.results.get('Q1')?.every((x) => x.outcome === 'delivered'));
  });

  void test('AUTH refused 535: deferred (our configuration, not the sender), no MAIL', () => {
    const server = peer(['AUTH PLAIN'], { AUTH: '535 5.7.8 bad credentials\r\n' });
    const r = run(server, [msg()], {
      tls: 'none',
      auth: { username: 'u', password: 'p', allowPlaintextAuth: true },
    });
    assert.ok(r.results.get('Q1')?.every((x) => x.outcome === 'deferred' && x.stage === 'auth'));
    assert.ok(!server.transcript.some((l) => l.startsWith('C: MAIL')));
  });

  void test('no credentials in plaintext unless allowed', () => {
    const server = peer(['AUTH PLAIN']);
    const r = run(server, [msg()], { tls: 'opportunistic', auth: { username: 'u', password: 'p' } });
    assert.ok(r.results.get('Q1')?.every((x) => x.outcome === 'deferred' && x.stage === 'auth'));
    assert.ok(!r.actions.some((a) => a.type === 'send' && a.data.toString().startsWith('AUTH')));
  });

  void test('SIZE advertised and exceeded: failed locally with 5.3.4, nothing sent', () => {
    const server = peer(['SIZE 10']);
    const r = run(server, [msg()]);
    const rs = r.results.get('Q1') ?? [];
    assert.ok(
      rs.every((x) => x.outcome === 'failed' && x.stage === 'local' && x.diagnostic.startsWith('552 5.3.4')),
    );
    assert.ok(!server.transcript.some((l) => l.startsWith('C: MAIL')));
  });

  void test('SMTPUTF8 needed but not offered: failed locally with 5.6.7; offered: MAIL carries SMTPUTF8', () => {
    const r1 = run(peer([]), [msg({ smtpUtf8: true })]);
    assert.ok(r1.results.get('Q1')?.every((x) => x.outcome === 'failed' && x.diagnostic.includes('5.6.7')));
    const r2 = run(peer([]), [msg({ recipients: [{ address: 'jörg@foo.com' }] })]);
    assert.ok(r2.results.get('Q1')?.every((x) => x.outcome === 'failed' && x.diagnostic.includes('5.6.7')));
    const server = peer(['SMTPUTF8', '8BITMIME']);
    run(server, [msg({ smtpUtf8: true, eightBit: true, recipients: [{ address: 'jörg@foo.com' }] })]);
    assert.ok(server.transcript.includes('C: MAIL FROM:<Smith@bar.com> BODY=8BITMIME SMTPUTF8'));
    assert.ok(server.transcript.includes('C: RCPT TO:<jörg@foo.com>'));
  });

  void test('8-bit message, peer without 8BITMIME: needs-downgrade, then 7-bit body without BODY=', () => {
    const eight = Buffer.from('Subject: x\r\n\r\ncaf\xc3\xa9\r\n', 'latin1');
    const seven = Buffer.from(
      'Subject: x\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n',
    );
    const server = peer(['SIZE 1000']);
    const session = new ClientSession({
      hostname: 'bar.com',
      messages: [msg({ eightBit: true, size: eight.length })],
      tls: 'none',
    });
    const r = drive(session, server, { bodies: { Q1: eight }, downgrade: () => seven });
    assert.ok(r.actions.some((a) => a.type === 'needs-downgrade' && a.messageId === 'Q1'));
    assert.ok(server.transcript.includes(`C: MAIL FROM:<Smith@bar.com> SIZE=${seven.length}`));
    assert.ok(server.messages[0]?.equals(seven));
    const failed = drive(
      new ClientSession({ hostname: 'b', messages: [msg({ eightBit: true })], tls: 'none' }),
      peer([]),
      { bodies: { Q1: eight } },
    );
    assert.ok(
      failed.results.get('Q1')?.every((x) => x.outcome === 'failed' && x.diagnostic.startsWith('550 5.6.3')),
    );
  });

  void test('DSN parameters only when the peer has DSN (RFC 3461)', () => {
    const m = msg({
      dsnRet: 'HDRS',
      dsnEnvid: 'QQ314159',
      recipients: [
        { address: 'Jones@foo.com', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;Jones@foo.com' },
      ],
    });
    const withDsn = peer(['DSN']);
    run(withDsn, [m]);
    assert.ok(withDsn.transcript.includes('C: MAIL FROM:<Smith@bar.com> RET=HDRS ENVID=QQ314159'));
    assert.ok(
      withDsn.transcript.includes(
        'C: RCPT TO:<Jones@foo.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Jones@foo.com',
      ),
    );
    const without = peer([]);
    run(without, [m]);
    assert.ok(without.transcript.includes('C: MAIL FROM:<Smith@bar.com>'));
    assert.ok(without.transcript.includes('C: RCPT TO:<Jones@foo.com>'));
  });

  void test('null sender for bounces', () => {
    const server = peer([]);
    run(server, [msg({ sender: '' })]);
    assert.ok(server.transcript.includes('C: MAIL FROM:<>'));
  });

  void test('address with CRLF is refused locally (no command injection)', () => {
    const server = peer([]);
    const r = run(server, [msg({ recipients: [{ address: 'a@b>\r\nRSET' }] })]);
    assert.equal(r.results.get('Q1')?.[0]?.stage, 'local');
    assert.ok(!server.transcript.some((l) => l.startsWith('C: MAIL')));
  });
});

void describe('several messages on one connection', () => {
  for (const pipelining of [false, true]) {
    void test(`RSET between messages (${pipelining ? 'pipelined' : 'one by one'})`, () => {
      const server = peer(pipelining ? ['PIPELINING'] : []);
      const r = run(server, [msg(), msg({ id: 'Q2', sender: 'x@bar.com' }), msg({ id: 'Q3' })]);
      assert.equal(server.messages.length, 3);
      assert.equal(server.transcript.filter((l) => l === 'C: RSET').length, 2);
      for (const id of ['Q1', 'Q2', 'Q3'])
        assert.ok(r.results.get(id)?.every((x) => x.outcome === 'delivered'));
    });
  }

  void test('a locally refused message does not stop the next one', () => {
    const server = peer(['SIZE 200']);
    const r = run(server, [msg({ size: 5000 }), msg({ id: 'Q2' })]);
    assert.equal(r.results.get('Q1')?.[0]?.stage, 'local');
    assert.ok(r.results.get('Q2')?.every((x) => x.outcome === 'delivered'));
    assert.equal(server.transcript.filter((l) => l === 'C: RSET').length, 0);
  });
});

void describe('CHUNKING (RFC 3030)', () => {
  for (const pipelining of [false, true]) {
    void test(`BDAT chunks carry the body (${pipelining ? 'pipelined' : 'one by one'})`, () => {
      const server = peer(['CHUNKING', ...(pipelining ? ['PIPELINING'] : [])]);
      const r = run(server, [msg()], {}, { chunkSize: 7 });
      assert.ok(server.messages[0]?.equals(BODY));
      assert.ok(server.transcript.includes('C: BDAT 0 LAST'));
      assert.ok(!server.transcript.includes('C: DATA'));
      assert.deepEqual(outcomes(r.results.get('Q1')), [
        'Jones@foo.com:delivered',
        'Green@foo.com:delivered',
        'Brown@foo.com:delivered',
      ]);
    });
  }

  void test('a refused chunk stops the body and decides the result', () => {
    let chunks = 0;
    const base = peerHandler(['CHUNKING']);
    const handler = new FakeServer('220 x\r\n', (line, s) => {
      if (line.startsWith('BDAT')) return ++chunks === 2 ? '552 5.3.4 too big\r\n' : '';
      return base(line, s);
    });
    const r = run(handler, [msg()], {}, { chunkSize: 5 });
    assert.equal(chunks, 2);
    assert.ok(r.actions.some((a) => a.type === 'abort-body'));
    assert.ok(
      r.results.get('Q1')?.every((x) => x.outcome === 'failed' && x.diagnostic === '552 5.3.4 too big'),
    );
    assert.ok(handler.transcript.includes('C: QUIT'));
  });
});

void describe('keepOpen: an idle connection carries the next batch (connection-pool.ts)', () => {
  void test('idle after the last message instead of QUIT; addMessages sends RSET + the next transaction; quit() ends it', () => {
    const server = peer(['PIPELINING']);
    let idles = 0;
    const r = run(
      server,
      [msg()],
      { keepOpen: true },
      {
        bodies: { Q1: BODY, Q2: BODY },
        onIdle: (s) => {
          idles++;
          assert.equal(s.idle, true);
          return idles === 1 ? s.addMessages([msg({ id: 'Q2' })]) : s.quit();
        },
      },
    );
    assert.equal(idles, 2);
    assert.equal(server.messages.length, 2);
    for (const id of ['Q1', 'Q2']) assert.ok(r.results.get(id)?.every((x) => x.outcome === 'delivered'));
    // One greeting and one EHLO for both batches; RSET before the second transaction (as between any two).
    assert.equal(server.transcript.filter((l) => l.startsWith('C: EHLO')).length, 1);
    assert.equal(server.transcript.filter((l) => l === 'C: RSET').length, 1);
    assert.equal(server.transcript.filter((l) => l === 'C: QUIT').length, 1);
    assert.equal(r.closed, true);
    // No timer runs while idle: how long to keep it is the pool's business.
    const idleAt = r.actions.findIndex((a) => a.type === 'idle');
    assert.deepEqual(r.actions[idleAt + 1], { type: 'timeout', ms: null, waitingFor: 'idle' });
  });

  void test('without keepOpen nothing changes: QUIT after the last message; addMessages/quit outside idle do nothing', () => {
    const server = peer(['PIPELINING']);
    const r = run(server, [msg()]);
    assert.ok(!r.actions.some((a) => a.type === 'idle'));
    assert.ok(server.transcript.includes('C: QUIT'));
    assert.deepEqual(r.session.addMessages([msg({ id: 'Q9' })]), []);
    assert.deepEqual(r.session.quit(), []);
  });

  void test('idle, then the peer hangs up (or says 421): closed, nothing to report', () => {
    for (const lose of ['lost', '421'] as const) {
      const server = peer(['PIPELINING']);
      const r = run(server, [msg()], { keepOpen: true });
      assert.equal(r.closed, false);
      assert.equal(r.session.idle, true);
      const after =
        lose === 'lost'
          ? r.session.onConnectionLost('ECONNRESET')
          : r.session.onReply({ code: 421, enhanced: '4.4.2', lines: ['timeout'] });
      assert.deepEqual(after, [{ type: 'close' }]);
      assert.equal(r.session.finished, true);
    }
  });
});
