// `mailroom send` against `mailroom serve`: STARTTLS + AUTH PLAIN submission, the built message as it lands in the INBOX, errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI, createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { inboxOf } from '../helpers/mailbox.js';
import { parseHeaderBlock } from '../../src/mail/headers.js';
import { decodeEncodedWords } from '../../src/mail/encoded-words.js';
import { decodeQuotedPrintable } from '../../src/mail/transfer-encoding.js';

let mr: MailroomInstance;

before(async () => {
  mr = await createMailroom();
  mr.cli(['domain', 'add', 'example.test']);
  mr.cli(['user', 'add', 'alice@example.test', '--password', 'alice-pw']);
  mr.cli(['user', 'add', 'bob@example.test', '--password', 'bob-password']);
  mr.cli(['user', 'add', 'carol@example.test', '--password', 'carol-pw']);
  mr.cli(['alias', 'add', 'sales@example.test', 'alice@example.test']);
  await mr.start();
});
after(async () => {
  await mr.cleanup();
});

function send(
  args: string[],
  input: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, 'send', ...args, '--config', mr.configPath]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.end(input);
    child.once('close', (status) => done({ status, stdout, stderr }));
  });
}

const alice = ['--from', 'alice@example.test', '--user', 'alice@example.test', '--password', 'alice-pw'];

/** Splits a stored message into its header fields (unfolded) and body. */
function parse(message: string): { fields: Map<string, string[]>; body: Buffer } {
  const raw = Buffer.from(message, 'utf8');
  const end = raw.indexOf('\r\n\r\n');
  const fields = new Map<string, string[]>();
  for (const f of parseHeaderBlock(raw.subarray(0, end + 2))) {
    const key = f.name.toLowerCase();
    fields.set(key, [...(fields.get(key) ?? []), f.value.trim()]);
  }
  return { fields, body: raw.subarray(end + 4) };
}

describe('mailroom send', () => {
  test('non-ASCII subject and body to two local users: queue id on stdout, message as it should be', async () => {
    const subject = 'Grüße aus Köln ✓ and plain words';
    const body = 'Hallo Bob,\n.a line starting with a dot\nÄrger? Nein.\n';
    const r = await send(
      [...alice, '--to', 'bob@example.test,carol@example.test', '--subject', subject],
      body,
    );
    assert.equal(r.status, 0, r.stderr);
    const queueId = r.stdout.trim();
    assert.match(queueId, /^[0-9A-Z]{20}$/);
    for (const who of ['bob@example.test', 'carol@example.test']) {
      const inbox = await inboxOf(mr, who);
      assert.equal(inbox.length, 1);
      const { fields, body: stored } = parse(inbox[0] ?? '');
      assert.deepEqual(fields.get('from'), ['alice@example.test']);
      assert.deepEqual(fields.get('to'), ['bob@example.test, carol@example.test']);
      const rawSubject = fields.get('subject')?.[0] ?? '';
      assert.match(rawSubject, /^[\x20-\x7e]+$/, 'RFC 2047: the header stays 7-bit');
      assert.equal(decodeEncodedWords(rawSubject), subject);
      assert.match(
        fields.get('date')?.[0] ?? '',
        /^[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000$/,
      );
      assert.match(fields.get('message-id')?.[0] ?? '', /^<[a-z0-9.]+@example\.test>$/);
      assert.equal(fields.get('message-id')?.length, 1, 'the server adds none of its own');
      assert.equal(fields.get('date')?.length, 1);
      assert.deepEqual(fields.get('mime-version'), ['1.0']);
      assert.deepEqual(fields.get('content-type'), ['text/plain; charset=utf-8']);
      assert.deepEqual(fields.get('content-transfer-encoding'), ['8bit']);
      assert.match(
        fields.get('received')?.[0] ?? '',
        new RegExp(`with ESMTPSA id ${queueId}`),
        'STARTTLS + AUTH',
      );
      assert.equal(stored.toString('utf8'), body.replace(/\n/g, '\r\n'));
    }
  });

  test('a line over 998 octets goes quoted-printable and decodes to the original', async () => {
    const body = `${'x'.repeat(1500)}\nshort tail é\n`;
    const r = await send([...alice, '--to', 'bob@example.test', '--subject', 'long'], body);
    assert.equal(r.status, 0, r.stderr);
    const inbox = await inboxOf(mr, 'bob@example.test');
    const { fields, body: stored } = parse(inbox.at(-1) ?? '');
    assert.deepEqual(fields.get('content-transfer-encoding'), ['quoted-printable']);
    assert.ok(
      stored
        .toString('latin1')
        .split('\r\n')
        .every((l) => l.length <= 76),
    );
    assert.equal(decodeQuotedPrintable(stored).toString('utf8'), body.replace(/\n/g, '\r\n'));
  });

  test('sending as an alias of the user is allowed; empty body and no subject work', async () => {
    const r = await send(
      [
        '--from',
        'sales@example.test',
        '--user',
        'alice@example.test',
        '--password',
        'alice-pw',
        '--to',
        'carol@example.test',
      ],
      '',
    );
    assert.equal(r.status, 0, r.stderr);
    const { fields } = parse((await inboxOf(mr, 'carol@example.test')).at(-1) ?? '');
    assert.deepEqual(fields.get('from'), ['sales@example.test']);
    assert.equal(fields.get('subject'), undefined);
  });

  test("someone else's address: 553 5.7.1 from the server on stderr, exit 1, nothing stored", async () => {
    const before = (await inboxOf(mr, 'carol@example.test')).length;
    const r = await send(
      [
        '--from',
        'bob@example.test',
        '--user',
        'alice@example.test',
        '--password',
        'alice-pw',
        '--to',
        'carol@example.test',
      ],
      'x\n',
    );
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^mailroom: 553 5\.7\.1 Sender address not owned by the authenticated user\n$/);
    assert.equal((await inboxOf(mr, 'carol@example.test')).length, before);
  });

  test('wrong password, no credentials, unknown recipient, usage errors: one line each, non-zero', async () => {
    const [badPw, noAuth, unknown, partial, noTo, badFrom, badServer] = await Promise.all([
      send(
        [
          '--from',
          'alice@example.test',
          '--user',
          'alice@example.test',
          '--password',
          'nope',
          '--to',
          'bob@example.test',
        ],
        'x',
      ),
      send(['--from', 'alice@example.test', '--to', 'bob@example.test'], 'x'),
      send([...alice, '--to', 'nobody@example.test'], 'x'),
      send([...alice, '--to', 'nobody@example.test,bob@example.test'], 'x'),
      send(['--from', 'alice@example.test'], 'x'),
      send(['--from', 'not an address', '--to', 'bob@example.test'], 'x'),
      send([...alice, '--to', 'bob@example.test', '--server', '127.0.0.1:1'], 'x'),
    ]);
    assert.equal(badPw.status, 1);
    assert.match(badPw.stderr, /^mailroom: 535 5\.7\.8 /);
    assert.equal(noAuth.status, 1);
    assert.match(noAuth.stderr, /^mailroom: 530 5\.7\.0 /);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^mailroom: 550 5\.1\.1 /);
    // Delivered to bob (queue id printed), refused for nobody (named on stderr).
    assert.equal(partial.status, 1);
    assert.match(partial.stdout, /^[0-9A-Z]{20}\n$/);
    assert.match(partial.stderr, /^mailroom: <nobody@example\.test>: 550 5\.1\.1 /);
    assert.equal(noTo.status, 2);
    assert.match(noTo.stderr, /missing --to/);
    assert.equal(badFrom.status, 1);
    assert.match(badFrom.stderr, /--from: "not an address" is not a valid address/);
    assert.equal(badServer.status, 1);
    assert.match(badServer.stderr, /^mailroom: connection lost: .*ECONNREFUSED/);
    for (const r of [badPw, noAuth, unknown, partial, noTo, badFrom, badServer]) {
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    }
  });
});
