// Hostile mailbox names and LIST patterns through every command that takes one: a tagged NO/BAD (or an empty LIST), never a dropped session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imapSession, openTestStore, type ImapSend } from '../../helpers/imap-session.js';

async function session(): Promise<ImapSend> {
  const { store } = await openTestStore();
  const send = imapSession(store);
  assert.match(await send('l LOGIN bob@example.test x'), /^l OK/);
  return send;
}

/** Every atom character (RFC 9051 9: ATOM-CHAR, minus "%" "*" "]" "{"), as imaptest's "atoms" group sends it. */
const ATOMS = "!#$&'+,-.0123456789:;<=>?@^_`|[}";

/** Names that are valid astrings but no mailbox can have (not modified UTF-7, RFC 3501 5.1.3). */
const UNDECODABLE = [
  ATOMS,
  '"&Jjo"',
  '"&Jjo!"',
  '"&"',
  '"&AGE-"',
  '"&2D0-"',
  '"&AOQ-&AOQ-"',
  '"&A-"',
  '~&U,BTFw',
];

test('imaptest atoms: SELECT of a name that is not modified UTF-7 is NO (not BAD), LIST with it and %* is an empty OK', async () => {
  const send = await session();
  assert.match(await send(`a SELECT ${ATOMS}`), /^a NO \[NONEXISTENT\]/);
  assert.equal(await send(`b LIST "" ${ATOMS}%*`), 'b OK LIST completed\r\n');
  assert.match(await send('c LIST "" ~foo'), /^c OK/);
  assert.match(await send('d SELECT ~foo'), /^d NO \[NONEXISTENT\]/);
  assert.match(await send('e NOOP'), /^e OK/);
});

for (const name of UNDECODABLE) {
  test(`hostile name ${name}: NO [NONEXISTENT] to look it up, NO [CANNOT] to make it, empty LIST`, async () => {
    const send = await session();
    for (const cmd of ['SELECT', 'EXAMINE', 'DELETE', 'UNSUBSCRIBE']) {
      assert.match(await send(`t ${cmd} ${name}`), /^t NO \[NONEXISTENT\] /, `${cmd} ${name}`);
    }
    assert.match(await send(`t STATUS ${name} (MESSAGES)`), /^t NO \[NONEXISTENT\] /);
    assert.match(await send(`t RENAME ${name} x`), /^t NO \[NONEXISTENT\] /);
    for (const cmd of ['CREATE', 'SUBSCRIBE']) {
      assert.match(await send(`t ${cmd} ${name}`), /^t NO \[CANNOT\] /, `${cmd} ${name}`);
    }
    assert.match(await send(`t RENAME INBOX ${name}`), /^t NO \[CANNOT\] /);
    assert.match(
      await send(`t APPEND ${name}`, Buffer.from('Subject: x\r\n\r\nx\r\n')),
      /^t NO \[NONEXISTENT\] /,
    );
    for (const pattern of [name, `${name.replace(/"$/, '')}*${name.endsWith('"') ? '"' : ''}`]) {
      assert.equal(await send(`t LIST "" ${pattern}`), 't OK LIST completed\r\n', `LIST "" ${pattern}`);
    }
    assert.match(await send('t SELECT INBOX'), /^\* [^]*t OK/);
    assert.match(await send(`t UID COPY 1:* ${name}`), /^t NO \[NONEXISTENT\] /);
    assert.match(await send('t NOOP'), /^t OK/);
  });
}

test('hostile names that are malformed IMAP (not astrings) are BAD, and the session goes on', async () => {
  const send = await session();
  for (const line of [
    'SELECT',
    'SELECT "unterminated',
    'SELECT a b',
    'SELECT (x)',
    'LIST ""',
    'CREATE "a\\q"',
  ]) {
    assert.match(await send(`t ${line}`), /^t BAD /, line);
  }
  assert.match(await send('t NOOP'), /^t OK/);
});
