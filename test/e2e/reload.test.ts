// SIGHUP reload (CONTRACT.md): sessions in flight finish, a broken file keeps the old config, listeners follow the file, new handshakes see a new certificate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { makeSelfSigned } from '../../src/net/tls.js';
import { inboxOf } from '../helpers/mailbox.js';
import { RawImap } from '../helpers/imap-raw.js';
import { createMailroom, freePorts, type MailroomInstance } from '../helpers/mailroom-process.js';

const USER = 'ann@example.test';
const PASSWORD = 'reload-password-1';

/** Sends SIGHUP and waits for the reload's outcome line (the n-th of that event since the start). */
async function hangUp(
  instance: MailroomInstance,
  event: 'config-reloaded' | 'config-reload-failed',
): Promise<string> {
  const seen = instance.output.filter((l) => l.includes(event)).length;
  instance.process!.kill('SIGHUP');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const lines = instance.output.filter((l) => l.includes(event));
    if (lines.length > seen) return lines[lines.length - 1]!;
    await new Promise((done) => setTimeout(done, 20));
  }
  throw new Error(`no ${event} line after SIGHUP:\n${instance.output.slice(-20).join('\n')}`);
}

/** Reads an SMTP reply (all its lines); returns the last one. */
async function reply(client: RawImap): Promise<string> {
  for (;;) {
    const line = await client.line();
    if (!/^\d{3}-/.test(line)) return line;
  }
}

async function smtp(client: RawImap, command: string): Promise<string> {
  client.write(`${command}\r\n`);
  return reply(client);
}

function refused(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      done(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED'));
  });
}

const fingerprint = (client: RawImap): string =>
  (client.socket as TLSSocket).getPeerCertificate().fingerprint256;

describe('SIGHUP reloads the config', () => {
  let instance: MailroomInstance;
  let original: string;
  before(async () => {
    instance = await createMailroom({ enable: ['imap', 'imaps'] });
    instance.cli(['domain', 'add', 'example.test']);
    instance.cli(['user', 'add', USER, '--password', PASSWORD]);
    original = readFileSync(instance.configPath, 'utf8');
    await instance.start();
  });
  after(async () => {
    await instance.cleanup();
  });

  test('an SMTP DATA and an IMAP IDLE in progress finish; the message is stored and IDLE sees it', async () => {
    const imap = await RawImap.open(instance.ports.imap!);
    assert.equal((await imap.command(`LOGIN ${USER} ${PASSWORD}`)).status, 'OK');
    assert.equal((await imap.command('SELECT INBOX')).status, 'OK');
    imap.write('I1 IDLE\r\n');
    assert.match(await imap.line(), /^\+ /);

    const mx = await RawImap.open(instance.ports.smtp);
    assert.match(await smtp(mx, 'EHLO client.example'), /^250 /);
    assert.match(await smtp(mx, 'MAIL FROM:<bob@remote.example>'), /^250 /);
    assert.match(await smtp(mx, `RCPT TO:<${USER}>`), /^250 /);
    assert.match(await smtp(mx, 'DATA'), /^354 /);
    mx.write('Subject: across a reload\r\nMessage-ID: <reload-1@remote.example>\r\n\r\nfirst half\r\n');

    assert.match(await hangUp(instance, 'config-reloaded'), /config-reloaded/);

    mx.write('second half\r\n.\r\n');
    assert.match(await reply(mx), /^250 /);
    assert.match(await smtp(mx, 'QUIT'), /^221 /);
    mx.close();

    assert.match(await imap.line(), /^\* 1 EXISTS/);
    imap.write('DONE\r\n');
    assert.match((await imap.until('I1')).tagged, /^I1 OK/);
    assert.equal((await imap.command('LOGOUT')).status, 'OK');
    imap.close();

    const inbox = await inboxOf(instance, USER);
    assert.equal(inbox.length, 1);
    assert.match(inbox[0]!, /first half\r\nsecond half/);
    assert.equal(instance.process?.exitCode, null, 'the server is still running');
  });

  test('a broken file is logged with its reason and the old config stays', async () => {
    writeFileSync(instance.configPath, `${original}\n[limits]\nmax_recipients = "lots"\n`);
    const line = await hangUp(instance, 'config-reload-failed');
    const event = JSON.parse(line) as { reason: string };
    assert.match(event.reason, /max_recipients/);
    // Still served on the old addresses.
    const mx = await RawImap.open(instance.ports.smtp);
    assert.match(await smtp(mx, 'EHLO client.example'), /^250 /);
    mx.close();
    writeFileSync(instance.configPath, original);
  });

  test('a listener added opens, one removed stops accepting while its open session goes on', async () => {
    const [pop3] = (await freePorts(1)) as [number];
    const imapBefore = await RawImap.open(instance.ports.imap!);
    writeFileSync(
      instance.configPath,
      original
        .replace(`listen = ["127.0.0.1:${instance.ports.imap}"]`, 'listen = []')
        .replace(/\[pop3\]\nlisten = \[\]/, `[pop3]\nlisten = ["127.0.0.1:${pop3}"]`),
    );
    const line = await hangUp(instance, 'config-reloaded');
    assert.match(line, new RegExp(`"pop3":\\["127.0.0.1:${pop3}"\\]`));
    assert.doesNotMatch(line, /"imap":/);

    const client = await RawImap.open(pop3); // reads the +OK greeting
    client.write('QUIT\r\n');
    assert.match(await client.line(), /^\+OK/);
    client.close();
    assert.equal(await refused(instance.ports.imap!), true, 'the removed IMAP listener no longer accepts');
    // The session opened before the reload is untouched.
    assert.equal((await imapBefore.command('NOOP')).status, 'OK');
    assert.equal((await imapBefore.command('LOGOUT')).status, 'OK');
    imapBefore.close();

    writeFileSync(instance.configPath, original);
    await hangUp(instance, 'config-reloaded');
    assert.equal(await refused(pop3), true, 'the POP3 listener is gone again');
    const imapAgain = await RawImap.open(instance.ports.imap!);
    imapAgain.close();
  });

  test('a new certificate: new TLS handshakes see it, an established TLS session keeps going', async () => {
    const old = await RawImap.open(instance.ports.imaps!, true);
    const oldPrint = fingerprint(old);
    const pair = await makeSelfSigned('reloaded.example.test', new Date());
    const cert = join(instance.dir, 'new-cert.pem');
    const key = join(instance.dir, 'new-key.pem');
    writeFileSync(cert, pair.cert);
    writeFileSync(key, pair.key, { mode: 0o600 });
    writeFileSync(instance.configPath, `${original}\n[tls]\ncert = "${cert}"\nkey = "${key}"\n`);
    await hangUp(instance, 'config-reloaded');

    const fresh = await RawImap.open(instance.ports.imaps!, true);
    assert.notEqual(fingerprint(fresh), oldPrint);
    assert.match(
      (fresh.socket as TLSSocket).getPeerCertificate().subjectaltname ?? '',
      /reloaded\.example\.test/,
    );
    fresh.close();
    // STARTTLS (RFC 3207) on a session that starts after the reload gets the new certificate too.
    const mx = await RawImap.open(instance.ports.smtp);
    assert.match(await smtp(mx, 'EHLO client.example'), /^250 /);
    assert.match(await smtp(mx, 'STARTTLS'), /^220 /);
    const upgraded = tlsConnect({ socket: mx.socket, rejectUnauthorized: false });
    await once(upgraded, 'secureConnect');
    assert.match(upgraded.getPeerCertificate().subjectaltname ?? '', /reloaded\.example\.test/);
    upgraded.destroy();
    assert.equal((await old.command('NOOP')).status, 'OK');
    assert.equal(fingerprint(old), oldPrint);
    old.close();
    writeFileSync(instance.configPath, original);
  });

  test('a key that needs a restart is named and kept; a live limit applies to the next session', async () => {
    writeFileSync(
      instance.configPath,
      original.replace(/^data_dir = .*$/m, `data_dir = "${join(instance.dir, 'elsewhere')}"`) +
        '\n[limits]\nmax_recipients = 1\n',
    );
    await hangUp(instance, 'config-reloaded');
    const warning = instance.output.findLast((l) => l.includes('config-restart-needed'));
    assert.deepEqual((JSON.parse(warning ?? '{}') as { keys?: string[] }).keys, ['dataDir']);
    const mx = await RawImap.open(instance.ports.smtp);
    assert.match(await smtp(mx, 'EHLO client.example'), /^250 /);
    assert.match(await smtp(mx, 'MAIL FROM:<bob@remote.example>'), /^250 /);
    assert.match(await smtp(mx, `RCPT TO:<${USER}>`), /^250 /);
    assert.match(await smtp(mx, 'RCPT TO:<postmaster@example.test>'), /^452 /);
    mx.close();
    writeFileSync(instance.configPath, original);
    await hangUp(instance, 'config-reloaded');
  });

  test('SIGTERM is still the graceful stop', async () => {
    assert.equal(await instance.kill('SIGTERM'), 0);
    assert.ok(instance.output.some((l) => l.includes('"stopped"') || l.includes('stopped')));
  });
});
