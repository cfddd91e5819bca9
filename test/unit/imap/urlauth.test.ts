// URLAUTH (RFC 4467) and URLAUTH=BINARY (RFC 5524) through the IMAP session: GENURLAUTH, URLFETCH, RESETKEY, access rules, binary parts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { deliverText, imapSession, openTestStore, TEST_NOW } from '../../helpers/imap-session.js';
import { internalToken } from '../../../src/imap/urlauth.js';
import { parseImapUrl } from '../../../src/imap/proto/imap-url.js';

const MSG =
  'From: a@x.test\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
  '--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n' +
  '--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n' +
  '--b--\r\n';

async function setUp(now: () => Date = () => TEST_NOW) {
  const { store, bob } = await openTestStore();
  store.addAccount('eve@example.test', 'unused');
  await deliverText(store, bob, MSG);
  const bobSession = imapSession(store, { now });
  assert.match(await bobSession('L LOGIN bob@example.test x'), /L OK/);
  const eveSession = imapSession(store, { now });
  assert.match(await eveSession('L LOGIN eve@example.test x'), /L OK/);
  return { store, bob: bobSession, eve: eveSession };
}

/** The URL of `* GENURLAUTH "url"`. */
function generated(reply: string): string {
  const m = /^\* GENURLAUTH "([^"]+)"\r\n/.exec(reply);
  assert.ok(m, reply);
  return m[1] as string;
}

describe('INTERNAL mechanism', () => {
  test('the token is HMAC-SHA256 of the rump, hex (RFC 4467 7)', () => {
    const key = Buffer.alloc(32, 7);
    const rump = 'imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred';
    assert.equal(internalToken(key, rump), createHmac('sha256', key).update(rump).digest('hex'));
    assert.equal(internalToken(key, rump).length, 64);
  });
});

describe('GENURLAUTH / URLFETCH / RESETKEY', () => {
  test('a generated URL fetches its message, part and partial range; RESETKEY makes it NIL', async () => {
    const { bob } = await setUp();
    assert.match(await bob('C CAPABILITY'), / URLAUTH URLAUTH=BINARY /);
    const rump = 'imap://bob@example.test/INBOX/;UID=1;URLAUTH=user+bob@example.test';
    const reply = await bob(`G GENURLAUTH "${rump}" INTERNAL`);
    assert.match(reply, /G OK/);
    const url = generated(reply);
    assert.match(
      url,
      /^imap:\/\/bob@example\.test\/INBOX\/;UID=1;URLAUTH=user\+bob@example\.test:INTERNAL:[0-9a-f]{64}$/,
    );
    const whole = await bob(`F URLFETCH "${url}"`);
    // The message as stored (delivery added Return-Path above it).
    assert.match(whole, /^\* URLFETCH "[^"]+" \{\d+\}\r\nReturn-Path: <x@remote.example>\r\n/);
    assert.ok(whole.endsWith(`${MSG}\r\nF OK URLFETCH completed\r\n`), whole);

    const partRump = 'imap://bob@example.test/INBOX/;UID=1/;SECTION=1/;PARTIAL=0.5;URLAUTH=authuser';
    const partUrl = generated(await bob(`G GENURLAUTH "${partRump}" INTERNAL`));
    assert.match(await bob(`F URLFETCH "${partUrl}"`), /^\* URLFETCH "[^"]+" \{5\}\r\nfirst\r\n/);

    // A token changed by one digit, and after RESETKEY the real one: NIL, the command still OK.
    const forged = url.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    assert.match(await bob(`F URLFETCH "${forged}"`), /^\* URLFETCH "[^"]+" NIL\r\nF OK/);
    assert.match(await bob('R RESETKEY INBOX'), /R OK \[URLMECH INTERNAL\]/);
    assert.match(
      await bob(`F URLFETCH "${url}" "${partUrl}"`),
      /^\* URLFETCH "[^"]+" NIL "[^"]+" NIL\r\nF OK/,
    );
    // A new URL works again (a new key), RESETKEY without a mailbox resets every mailbox.
    const again = generated(await bob(`G GENURLAUTH "${rump}" INTERNAL`));
    assert.notEqual(again, url);
    assert.match(await bob(`F URLFETCH "${again}"`), /^\* URLFETCH "[^"]+" \{/);
    assert.match(await bob('R RESETKEY'), /R OK/);
    assert.match(await bob(`F URLFETCH "${again}"`), /^\* URLFETCH "[^"]+" NIL\r\n/);
  });

  test('SELECT and EXAMINE name the mechanisms in an untagged OK [URLMECH INTERNAL] (RFC 4467 7)', async () => {
    const { bob } = await setUp();
    for (const verb of ['SELECT', 'EXAMINE']) {
      const reply = await bob(`S ${verb} INBOX`);
      assert.match(reply, /^\* OK \[URLMECH INTERNAL\] /m, reply);
      assert.match(reply, /^S OK \[READ-(WRITE|ONLY)\]/m);
    }
    // A failed SELECT says nothing about mechanisms.
    assert.doesNotMatch(await bob('S SELECT Nope'), /URLMECH/);
  });

  test('RESETKEY: every session of the user with the mailbox selected gets * OK [URLMECH INTERNAL] once (RFC 4467 6.2)', async () => {
    const { store, bob } = await setUp();
    const other = imapSession(store, { now: () => TEST_NOW });
    await other('L LOGIN bob@example.test x');
    await other('S SELECT INBOX');
    assert.doesNotMatch(await other('N NOOP'), /URLMECH/);
    await bob('C CREATE Other');
    assert.match(await bob('R RESETKEY Other'), /R OK \[URLMECH INTERNAL\]/);
    assert.doesNotMatch(await other('N NOOP'), /URLMECH/, 'another mailbox was reset');
    await bob('R RESETKEY INBOX');
    assert.match(await other('N NOOP'), /^\* OK \[URLMECH INTERNAL\] /m);
    assert.doesNotMatch(await other('N NOOP'), /URLMECH/, 'told once');
    await bob('R RESETKEY');
    assert.match(await other('N NOOP'), /^\* OK \[URLMECH INTERNAL\] /m, 'all mailboxes reset');
  });

  test('access identifiers: user+X only for X, authuser for anyone signed in, submit+X never over IMAP', async () => {
    const { bob, eve } = await setUp();
    const gen = async (access: string) =>
      generated(await bob(`G GENURLAUTH "imap://bob@example.test/INBOX/;UID=1;URLAUTH=${access}" INTERNAL`));
    const forBob = await gen('user+bob@example.test');
    const forEve = await gen('user+eve');
    const anyUser = await gen('authuser');
    const submit = await gen('submit+bob@example.test');
    assert.match(await eve(`F URLFETCH "${forBob}"`), /NIL\r\nF OK/);
    assert.match(await eve(`F URLFETCH "${forEve}"`), /^\* URLFETCH "[^"]+" \{/);
    assert.match(await eve(`F URLFETCH "${anyUser}"`), /^\* URLFETCH "[^"]+" \{/);
    assert.match(await bob(`F URLFETCH "${submit}"`), /NIL\r\nF OK/);
  });

  test('GENURLAUTH refuses another user, full URLs, unknown mechanisms, missing mailboxes and past EXPIRE', async () => {
    const { bob } = await setUp();
    const rows: Array<[string, RegExp]> = [
      ['"imap://eve@example.test/INBOX/;UID=1;URLAUTH=authuser" INTERNAL', /G NO/],
      [
        '"imap://bob@example.test/INBOX/;UID=1;URLAUTH=authuser:INTERNAL:' + '0'.repeat(64) + '" INTERNAL',
        /G NO/,
      ],
      ['"imap://bob@example.test/INBOX/;UID=1;URLAUTH=authuser" XOAUTH', /G NO/],
      ['"imap://bob@example.test/Nope/;UID=1;URLAUTH=authuser" INTERNAL', /G NO \[NONEXISTENT\]/],
      ['"imap://bob@example.test/INBOX;UIDVALIDITY=1/;UID=1;URLAUTH=authuser" INTERNAL', /G NO/],
      ['"imap://bob@example.test/INBOX;URLAUTH=authuser" INTERNAL', /G NO/],
      [
        '"imap://bob@example.test/INBOX/;UID=1;EXPIRE=2026-11-23T09:00:00Z;URLAUTH=authuser" INTERNAL',
        /G NO/,
      ],
      ['"imap://bob@example.test/INBOX/;UID=1;URLAUTH=authuser"', /G BAD/],
    ];
    for (const [args, want] of rows) assert.match(await bob(`G GENURLAUTH ${args}`), want, args);
    assert.match(await bob('R RESETKEY Nope'), /R NO \[NONEXISTENT\]/);
    // IMAP_URLS_PER_COMMAND (config/limits.ts) bounds one command.
    assert.match(await bob(`F URLFETCH ${'"imap://h/x" '.repeat(101).trim()}`), /F BAD Too many URLs/);
    assert.match(await bob(`F URLFETCH ${'"imap://h/x" '.repeat(100).trim()}`), /F OK/);
    assert.match(await bob('R RESETKEY INBOX XOAUTH'), /R NO/);
  });

  test(';EXPIRE: the URL works until then, and is NIL from then on (RFC 4467 3)', async () => {
    let now = TEST_NOW;
    const { bob } = await setUp(() => now);
    const url = generated(
      await bob(
        'G GENURLAUTH "imap://bob@example.test/INBOX/;UID=1;EXPIRE=2026-11-23T11:00:00Z;URLAUTH=authuser" INTERNAL',
      ),
    );
    assert.match(await bob(`F URLFETCH "${url}"`), /^\* URLFETCH "[^"]+" \{/);
    now = new Date('2026-11-23T11:00:00Z');
    assert.match(await bob(`F URLFETCH "${url}"`), /NIL\r\nF OK/);
  });

  test('a URL of a deleted and re-created mailbox is NIL (keys belong to the mailbox, not its name)', async () => {
    const { bob } = await setUp();
    assert.match(await bob('C CREATE Box'), /C OK/);
    assert.match(await bob('A APPEND Box', Buffer.from(MSG)), /A OK/);
    const url = generated(
      await bob('G GENURLAUTH "imap://bob@example.test/Box/;UID=1;URLAUTH=authuser" INTERNAL'),
    );
    assert.match(await bob(`F URLFETCH "${url}"`), /^\* URLFETCH "[^"]+" \{/);
    assert.match(await bob('D DELETE Box'), /D OK/);
    assert.match(await bob('C CREATE Box'), /C OK/);
    assert.match(await bob('A APPEND Box', Buffer.from(MSG)), /A OK/);
    assert.match(await bob(`F URLFETCH "${url}"`), /NIL\r\nF OK/);
  });
});

describe('URLAUTH=BINARY (RFC 5524)', () => {
  test('BINARY decodes the part, BODYPARTSTRUCTURE describes it, BODY gives it as stored', async () => {
    const { bob } = await setUp();
    const url = generated(
      await bob('G GENURLAUTH "imap://bob@example.test/INBOX/;UID=1/;SECTION=2;URLAUTH=authuser" INTERNAL'),
    );
    const reply = await bob(`F URLFETCH ("${url}" BINARY BODYPARTSTRUCTURE) ("${url}" BODY)`);
    assert.ok(
      reply.startsWith(
        `* URLFETCH "${url}" (BODYPARTSTRUCTURE ("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 5 NIL NIL NIL NIL) BINARY {5}\r\nhello) ` +
          `"${url}" (BODY {10}\r\naGVs\r\nbG8=)\r\nF OK`,
      ),
      reply,
    );
    assert.match(await bob(`F URLFETCH ("${url}" BODY BINARY)`), /F BAD/);
    assert.match(await bob(`F URLFETCH ("${url}" FLAGS)`), /F BAD/);
  });

  test('BINARY of a whole message decodes every part inside and says so in its headers', async () => {
    const { bob } = await setUp();
    const url = generated(
      await bob('G GENURLAUTH "imap://bob@example.test/INBOX/;UID=1;URLAUTH=authuser" INTERNAL'),
    );
    const reply = await bob(`F URLFETCH ("${url}" BINARY)`);
    assert.match(reply, /Content-Transfer-Encoding: binary\r\n\r\nhello\r\n--b--/);
    assert.doesNotMatch(reply, /aGVs/);
  });
});

test('the parser keeps the rump the token was made over, byte for byte', () => {
  const u = parseImapUrl('imap://bob@example.test/INBOX/;uid=1;urlauth=AuthUser:internal:' + 'A'.repeat(64));
  assert.equal(u.urlauth?.rump, 'imap://bob@example.test/INBOX/;uid=1;urlauth=AuthUser');
});
