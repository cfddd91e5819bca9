// Pop3Session without sockets: RFC 1939 example transcripts first, then CAPA/STLS/AUTH rules, locks, hostile input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSaslPlain } from '../../../src/auth/sasl/plain.js';
import { LineReceiver } from '../../../src/pop3/command-parser.js';
import { MaildropLocks } from '../../../src/pop3/maildrop-lock.js';
import {
  MAX_AUTH_FAILURES,
  MAX_ERRORS,
  Pop3Session,
  type Pop3Output,
  type Pop3Peer,
  type Pop3Policy,
  type Pop3Services,
} from '../../../src/pop3/session.js';
import type { AuthResult } from '../../../src/smtp/server/services.js';

interface Fakes {
  services: Pop3Services;
  locks: MaildropLocks;
  removed: Array<{ mailboxId: number; uids: number[] }>;
  authCalls: string[];
}

/** RFC 1939 10's maildrop: two messages of 120 and 200 octets (UIDs 7 and 9, so numbers and UIDs differ). */
function fakes(
  options: {
    throttle?: boolean;
    failRemove?: boolean;
    failOpen?: boolean;
    messages?: number[];
    /** removeMessages resolves (is durable) only once this does. */
    removeGate?: Promise<void>;
  } = {},
): Fakes {
  const locks = new MaildropLocks();
  const removed: Fakes['removed'] = [];
  const authCalls: string[] = [];
  const sizes = options.messages ?? [120, 200];
  const services: Pop3Services = {
    async authenticate(user, password): Promise<AuthResult> {
      authCalls.push(user);
      if (options.throttle) return { kind: 'throttled', retryAfterMs: 1000 };
      return user.toLowerCase() === 'mrose@dbc.example' && password === 'tanstaaf'
        ? { kind: 'ok', account: 'mrose@dbc.example' }
        : { kind: 'failed' };
    },
    openMaildrop() {
      if (options.failOpen) return { kind: 'error', error: new Error('disk on fire') };
      const release = locks.tryAcquire(1);
      if (!release) return { kind: 'in-use' };
      return {
        kind: 'ok',
        maildrop: {
          accountId: 1,
          mailboxId: 42,
          uidValidity: 1700000000,
          messages: sizes.map((size, i) => ({ uid: 7 + 2 * i, messageId: 100 + i, size })),
          release,
        },
      };
    },
    async removeMessages(mailboxId, uids) {
      await (options.removeGate ?? Promise.resolve()); // resolves later, as the durable store does
      if (options.failRemove) throw new Error('store failed');
      removed.push({ mailboxId, uids });
    },
  };
  return { services, locks, removed, authCalls };
}

const POLICY: Pop3Policy = { hostname: 'dbc.example', tlsAvailable: true, allowLoopbackPlaintext: true };
const LOOPBACK: Pop3Peer = { remoteAddress: '127.0.0.1', secure: false, loopback: true };
const REMOTE: Pop3Peer = { remoteAddress: '192.0.2.7', secure: false, loopback: false };

class Driver {
  readonly session: Pop3Session;
  readonly receiver = new LineReceiver();
  last: Pop3Output | null = null;
  constructor(
    readonly f: Fakes = fakes(),
    peer: Pop3Peer = LOOPBACK,
    policy: Pop3Policy = POLICY,
  ) {
    this.session = new Pop3Session(policy, f.services, { ...peer });
  }
  /** Sends one line; returns the reply text, with a marker for a streamed message. */
  async send(line: string): Promise<string> {
    this.receiver.limit = this.session.lineLimit;
    const [received] = this.receiver.push(Buffer.from(`${line}\r\n`));
    assert.ok(received);
    this.last = await this.session.handle(received);
    const m = this.last.message;
    return (
      this.last.reply +
      (m ? `<message ${m.messageId}${m.topLines === null ? '' : ` top ${m.topLines}`}>` : '')
    );
  }
  async login(): Promise<void> {
    assert.equal(await this.send('USER mrose@dbc.example'), '+OK Send PASS\r\n');
    assert.match(await this.send('PASS tanstaaf'), /^\+OK /);
  }
}

describe('RFC 1939 10 example session (USER/PASS instead of APOP)', () => {
  test('login, STAT, LIST, RETR, DELE, QUIT removes exactly the deleted UIDs', async () => {
    const d = new Driver();
    assert.equal(d.session.greet(), '+OK dbc.example Mailroom POP3 server ready\r\n');
    assert.equal(await d.send('USER mrose@dbc.example'), '+OK Send PASS\r\n');
    assert.equal(await d.send('PASS tanstaaf'), '+OK Logged in; maildrop has 2 messages (320 octets)\r\n');
    assert.equal(await d.send('STAT'), '+OK 2 320\r\n');
    assert.equal(await d.send('LIST'), '+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n');
    assert.equal(await d.send('RETR 1'), '+OK 120 octets\r\n<message 100>');
    assert.equal(await d.send('DELE 1'), '+OK Message 1 deleted\r\n');
    assert.equal(await d.send('RETR 2'), '+OK 200 octets\r\n<message 101>');
    assert.equal(await d.send('DELE 2'), '+OK Message 2 deleted\r\n');
    assert.equal(d.f.removed.length, 0, 'nothing removed before QUIT');
    assert.equal(
      await d.send('QUIT'),
      '+OK dbc.example Mailroom POP3 server signing off (0 messages left)\r\n',
    );
    assert.equal(d.last?.action, 'close');
    assert.deepEqual(d.f.removed, [{ mailboxId: 42, uids: [7, 9] }]);
    assert.equal(d.f.locks.isLocked(1), false, 'lock released on QUIT');
  });

  test('RFC 1939 5 command examples: LIST n, DELE twice, RSET, NOOP, TOP, UIDL', async () => {
    const d = new Driver();
    await d.login();
    assert.equal(await d.send('LIST 2'), '+OK 2 200\r\n');
    assert.equal(await d.send('LIST 3'), '-ERR No such message\r\n');
    assert.equal(await d.send('LIST 0'), '-ERR No such message\r\n');
    assert.equal(await d.send('DELE 1'), '+OK Message 1 deleted\r\n');
    assert.equal(await d.send('DELE 1'), '-ERR Message 1 already deleted\r\n');
    assert.equal(await d.send('LIST 1'), '-ERR No such message\r\n', 'deleted messages are hidden');
    assert.equal(await d.send('RETR 1'), '-ERR No such message\r\n');
    assert.equal(await d.send('STAT'), '+OK 1 200\r\n');
    assert.equal(await d.send('LIST'), '+OK 1 messages (200 octets)\r\n2 200\r\n.\r\n', 'numbers stay fixed');
    assert.equal(await d.send('UIDL'), '+OK Unique-id listing follows\r\n2 1700000000.9\r\n.\r\n');
    assert.equal(await d.send('RSET'), '+OK Maildrop has 2 messages (320 octets)\r\n');
    assert.equal(await d.send('UIDL 1'), '+OK 1 1700000000.7\r\n');
    assert.equal(await d.send('NOOP'), '+OK Nothing to do\r\n');
    assert.equal(await d.send('TOP 1 10'), '+OK Top of message follows\r\n<message 100 top 10>');
    assert.equal(await d.send('TOP 1 0'), '+OK Top of message follows\r\n<message 100 top 0>');
    assert.equal(await d.send('TOP 3 1'), '-ERR No such message\r\n');
    await d.send('QUIT');
    assert.deepEqual(d.f.removed, [], 'RSET undid the deletion; QUIT with nothing marked removes nothing');
  });

  test('QUIT in AUTHORIZATION does not enter UPDATE (RFC 1939 6)', async () => {
    const d = new Driver();
    assert.equal(await d.send('QUIT'), '+OK dbc.example Mailroom POP3 server signing off\r\n');
    assert.equal(d.last?.action, 'close');
    assert.deepEqual(d.f.removed, []);
  });

  test('a dropped connection (close without QUIT) deletes nothing and frees the lock', async () => {
    const d = new Driver();
    await d.login();
    await d.send('DELE 1');
    d.session.close();
    assert.deepEqual(d.f.removed, []);
    assert.equal(d.f.locks.isLocked(1), false);
  });

  test('QUIT answers +OK only once the removal is durable, and holds the lock until then', async () => {
    let durable = (): void => undefined;
    const gate = new Promise<void>((resolve) => (durable = resolve));
    const d = new Driver(fakes({ removeGate: gate }));
    await d.login();
    await d.send('DELE 1');
    let reply: string | null = null;
    const quit = d.send('QUIT').then((r) => (reply = r));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(reply, null, 'no +OK before the removal is durable');
    assert.equal(d.f.locks.isLocked(1), true, 'another session cannot open the maildrop meanwhile');
    durable();
    await quit;
    assert.equal(reply, '+OK dbc.example Mailroom POP3 server signing off (1 messages left)\r\n');
    assert.equal(d.f.locks.isLocked(1), false);
  });

  test('an UPDATE that fails answers -ERR [SYS/TEMP] (RFC 1939 6) and still releases the lock', async () => {
    const d = new Driver(fakes({ failRemove: true }));
    await d.login();
    await d.send('DELE 2');
    assert.match(await d.send('QUIT'), /^-ERR \[SYS\/TEMP\]/);
    assert.equal(d.f.locks.isLocked(1), false);
  });
});

describe('states', () => {
  test('transaction verbs in AUTHORIZATION and USER/PASS/STLS in TRANSACTION are refused', async () => {
    const d = new Driver();
    for (const verb of ['STAT', 'LIST', 'RETR 1', 'DELE 1', 'NOOP', 'RSET', 'TOP 1 1', 'UIDL']) {
      assert.equal(await d.send(verb), '-ERR Command not valid in this state\r\n', verb);
    }
    await d.login();
    for (const verb of ['USER x', 'PASS y', 'AUTH PLAIN', 'STLS']) {
      assert.equal(await d.send(verb), '-ERR Command not valid in this state\r\n', verb);
    }
  });

  test('PASS only right after USER (RFC 1939 7)', async () => {
    const d = new Driver();
    assert.equal(await d.send('PASS tanstaaf'), '-ERR Send USER first\r\n');
    await d.send('USER mrose@dbc.example');
    await d.send('CAPA');
    assert.equal(await d.send('PASS tanstaaf'), '-ERR Send USER first\r\n');
  });
});

describe('authentication', () => {
  test('wrong password and unknown user get the same -ERR [AUTH]; the third failure closes', async () => {
    const d = new Driver();
    await d.send('USER mrose@dbc.example');
    const wrongPassword = await d.send('PASS nope');
    await d.send('USER nobody@dbc.example');
    const unknownUser = await d.send('PASS tanstaaf');
    assert.equal(wrongPassword, '-ERR [AUTH] Authentication failed\r\n');
    assert.equal(unknownUser, wrongPassword);
    assert.equal(
      await d.send('USER nobody@dbc.example'),
      '+OK Send PASS\r\n',
      'USER never reveals existence',
    );
    const third = await d.send('PASS x');
    assert.equal(MAX_AUTH_FAILURES, 3);
    assert.match(third, /Too many failed logins; closing/);
    assert.equal(d.last?.action, 'close');
  });

  test('throttled logins get -ERR [SYS/TEMP] (RFC 3206)', async () => {
    const d = new Driver(fakes({ throttle: true }));
    await d.send('USER mrose@dbc.example');
    assert.equal(
      await d.send('PASS tanstaaf'),
      '-ERR [SYS/TEMP] Too many failed logins; try again later\r\n',
    );
  });

  test('AUTH PLAIN with initial response, with continuation, cancelled with "*"; bad base64', async () => {
    const d = new Driver();
    assert.equal(await d.send('AUTH PLAIN'), '+ \r\n');
    assert.equal(await d.send('*'), '-ERR Authentication cancelled\r\n');
    assert.equal(await d.send('AUTH PLAIN'), '+ \r\n');
    assert.equal(await d.send('not base64!'), '-ERR [AUTH] Malformed SASL response\r\n');
    assert.equal(await d.send('AUTH CRAM-MD5'), '-ERR Unsupported SASL mechanism; PLAIN is supported\r\n');
    assert.equal(await d.send('AUTH PLAIN'), '+ \r\n');
    assert.match(await d.send(encodeSaslPlain('mrose@dbc.example', 'tanstaaf')), /^\+OK Logged in/);
    assert.equal(d.session.state.kind, 'transaction');

    const e = new Driver();
    assert.match(
      await e.send(`AUTH PLAIN ${encodeSaslPlain('MRose@dbc.example', 'tanstaaf')}`),
      /^\+OK Logged in/,
    );
    const f = new Driver(fakes());
    assert.match(
      await f.send(`AUTH PLAIN ${encodeSaslPlain('mrose@dbc.example', 'tanstaaf', 'root@dbc.example')}`),
      /^-ERR \[AUTH\]/,
    );
    assert.equal(f.session.state.kind, 'authorization');
  });

  test('a SASL response longer than a command line is accepted (RFC 5034 4)', async () => {
    const d = new Driver();
    await d.send('AUTH PLAIN');
    assert.ok(d.session.lineLimit > 1000);
    assert.match(
      await d.send(encodeSaslPlain('mrose@dbc.example', 'x'.repeat(400))),
      /^-ERR \[AUTH\] Authentication failed/,
    );
  });

  test('plaintext is refused off loopback without TLS, and on loopback when not allowed', async () => {
    for (const [peer, policy] of [
      [REMOTE, POLICY],
      [LOOPBACK, { ...POLICY, allowLoopbackPlaintext: false }],
    ] as const) {
      const d = new Driver(fakes(), peer, policy);
      const refused = '-ERR [AUTH] Plaintext authentication disallowed on insecure connections; use STLS\r\n';
      assert.equal(await d.send('USER mrose@dbc.example'), refused);
      assert.equal(await d.send('AUTH PLAIN'), refused);
      assert.equal(await d.send('AUTH'), '+OK Supported mechanisms follow\r\n.\r\n');
      const capa = await d.send('CAPA');
      assert.ok(!capa.includes('USER') && !capa.includes('SASL') && capa.includes('STLS\r\n'));
      assert.deepEqual(d.f.authCalls, [], 'no password was checked');
      // after STLS the same commands work
      assert.equal(await d.send('STLS'), '+OK Begin TLS negotiation\r\n');
      assert.equal(d.last?.action, 'start-tls');
      d.session.tlsStarted();
      await d.login();
    }
  });

  test('a second session on a locked maildrop gets -ERR [IN-USE] and stays in AUTHORIZATION', async () => {
    const f = fakes();
    const first = new Driver(f);
    await first.login();
    const second = new Driver(f);
    await second.send('USER mrose@dbc.example');
    assert.equal(
      await second.send('PASS tanstaaf'),
      '-ERR [IN-USE] Maildrop is locked by another POP3 session\r\n',
    );
    assert.equal(second.session.state.kind, 'authorization');
    await first.send('QUIT');
    await second.login();
  });

  test('a maildrop that cannot be opened: -ERR [SYS/TEMP]', async () => {
    const d = new Driver(fakes({ failOpen: true }));
    await d.send('USER mrose@dbc.example');
    assert.match(await d.send('PASS tanstaaf'), /^-ERR \[SYS\/TEMP\] Cannot open the maildrop/);
  });

  test('a connection closed while the password is checked takes no lock', async () => {
    const d = new Driver();
    await d.send('USER mrose@dbc.example');
    const [line] = d.receiver.push(Buffer.from('PASS tanstaaf\r\n'));
    const pending = d.session.handle(line!);
    d.session.close();
    assert.equal((await pending).action, 'close');
    assert.equal(d.f.locks.isLocked(1), false);
  });
});

describe('CAPA and STLS (RFC 2449, RFC 2595)', () => {
  test('CAPA before login on loopback lists USER, SASL PLAIN, STLS and the rest', async () => {
    const d = new Driver();
    assert.equal(
      await d.send('CAPA'),
      '+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\nSASL PLAIN\r\nSTLS\r\nIMPLEMENTATION Mailroom\r\n.\r\n',
    );
  });
  test('CAPA in TRANSACTION repeats the AUTHORIZATION capabilities (RFC 2449 5)', async () => {
    const d = new Driver();
    const before = await d.send('CAPA');
    await d.login();
    assert.equal(await d.send('CAPA'), before);
  });
  test('STLS is refused once TLS is active, and when no certificate is available', async () => {
    const d = new Driver(fakes(), { ...LOOPBACK, secure: true });
    assert.equal(await d.send('STLS'), '-ERR Command not permitted when TLS active\r\n');
    assert.ok(!(await d.send('CAPA')).includes('STLS'));
    const e = new Driver(fakes(), LOOPBACK, { ...POLICY, tlsAvailable: false });
    assert.equal(await e.send('STLS'), '-ERR STLS not available\r\n');
  });
});

describe('hostile input', () => {
  test('unknown commands, bad syntax and over-long lines get -ERR; too many errors close', async () => {
    const d = new Driver();
    assert.equal(await d.send('APOP mrose c4c9334bac560ecc979e58001b3e22fb'), '-ERR Unknown command\r\n');
    assert.equal(await d.send('RETR\u0000'), '-ERR Control characters in command\r\n');
    assert.equal((await d.session.handle({ kind: 'too-long' })).reply, '-ERR Line too long\r\n');
    let out = '';
    for (let i = 3; i < MAX_ERRORS; i++) out = await d.send('BOGUS');
    assert.match(out, /Too many errors/);
    assert.equal(d.last?.action, 'close');
  });

  test('huge message numbers and numbers past the end are -ERR, never a crash', async () => {
    const d = new Driver();
    await d.login();
    assert.equal(await d.send('RETR 999999999'), '-ERR No such message\r\n');
    assert.equal(await d.send('DELE 999999999'), '-ERR No such message\r\n');
    assert.match(await d.send('TOP 1 99999999999999'), /^-ERR Usage/);
    assert.equal(await d.send('DELE 0'), '-ERR No such message\r\n');
  });

  test('an empty maildrop: STAT 0 0, LIST and UIDL are empty listings', async () => {
    const d = new Driver(fakes({ messages: [] }));
    await d.login();
    assert.equal(await d.send('STAT'), '+OK 0 0\r\n');
    assert.equal(await d.send('LIST'), '+OK 0 messages (0 octets)\r\n.\r\n');
    assert.equal(await d.send('UIDL'), '+OK Unique-id listing follows\r\n.\r\n');
  });
});

describe('MaildropLocks', () => {
  test('one holder per account; release is idempotent; other accounts are independent', () => {
    const locks = new MaildropLocks();
    const release = locks.tryAcquire(1);
    assert.ok(release);
    assert.equal(locks.tryAcquire(1), null);
    const other = locks.tryAcquire(2);
    assert.ok(other);
    release();
    release();
    assert.equal(locks.isLocked(1), false);
    const again = locks.tryAcquire(1);
    assert.ok(again);
    release(); // a stale release must not free the new holder's lock
    assert.equal(locks.isLocked(1), true);
    again();
    other();
    assert.equal(locks.size, 0);
  });
});
