// mutt (a real terminal client) in tmux against `mailroom serve`: subscribed folders, sort=threads, COMPRESS=DEFLATE.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';

let server: MailroomInstance;
/** Our own tmux server (-L): never the user's, and killed with everything in it at the end. */
const TMUX_SOCKET = `mailroom-mutt-${process.pid}`;
const tmux = (...args: string[]): ReturnType<typeof spawnSync> =>
  spawnSync('tmux', ['-L', TMUX_SOCKET, ...args], { encoding: 'utf8', timeout: 10_000 });

before(async () => {
  server = await createMailroom({ enable: ['imap'] });
  server.cli(['domain', 'add', 'example.test']);
  server.cli(['user', 'add', 'reader@example.test', '--password', 'mutt-secret']);
  await server.start();
});

after(async () => {
  tmux('kill-server');
  await server.cleanup();
});

async function send(subject: string, id: string, replyTo?: string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: server.ports.smtp,
    name: 'client.example.net',
    tls: { rejectUnauthorized: false },
  });
  const info = await transport.sendMail({
    from: 'Amy <amy@example.net>',
    to: 'reader@example.test',
    subject,
    messageId: `<${id}@example.net>`,
    ...(replyTo ? { inReplyTo: `<${replyTo}@example.net>`, references: `<${replyTo}@example.net>` } : {}),
    text: `${subject}\n`,
  });
  assert.deepEqual(info.accepted, ['reader@example.test']);
}

test('mutt with imap_check_subscribed and sort=threads shows a reply under its parent (over COMPRESS=DEFLATE)', async () => {
  // Like the other real-client tests: a missing tool is a failure that says how to get it, not a skip.
  const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  assert.ok(have('mutt'), 'mutt is not installed: run scripts/install-test-tools.sh (Debian package mutt)');
  assert.ok(have('tmux'), 'tmux is not installed: run scripts/install-test-tools.sh (Debian package tmux)');

  await send('Budget', 'a');
  await send('Lunch on Friday', 'c');
  await send('Re: Budget', 'b', 'a');

  // HOME is the instance's directory, so no ~/.muttrc or caches of the machine take part.
  const muttrc = join(server.dir, 'muttrc');
  writeFileSync(
    muttrc,
    [
      `set folder="imap://127.0.0.1:${server.ports.imap}/"`,
      'set spoolfile="+INBOX"',
      'set imap_user="reader@example.test"',
      'set imap_pass="mutt-secret"',
      // Loopback plaintext, as the server allows it (no STARTTLS on this test instance).
      'set ssl_starttls=no',
      'set ssl_force_tls=no',
      'set imap_check_subscribed=yes',
      // RFC 4978: mutt negotiates COMPRESS=DEFLATE when the server offers it.
      'set imap_deflate=yes',
      'set sort=threads',
      'set sort_aux=date-sent',
      // Thread arrows in ASCII ("`->") and every subject shown, so the capture is plain to match.
      'set ascii_chars=yes',
      'set hide_thread_subject=no',
      'set index_format="%4C %-12.12L %s"',
      'set header_cache=""',
      'set message_cachedir=""',
      'set record=""',
      'set move=no',
      'set mail_check=600',
      'set timeout=600',
    ].join('\n') + '\n',
  );
  const started = tmux(
    'new-session',
    '-d',
    '-x',
    '120',
    '-y',
    '30',
    '-e',
    `HOME=${server.dir}`,
    '-e',
    'TERM=xterm',
    `mutt -n -F ${muttrc}`,
  );
  assert.equal(started.status, 0, `tmux: ${String(started.stderr)}`);

  let screen = '';
  for (let i = 0; i < 100; i++) {
    screen = String(tmux('capture-pane', '-p').stdout ?? '');
    if (/Lunch on Friday/.test(screen) && /Re: Budget/.test(screen)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const lines = screen.split('\n');
  const parent = lines.findIndex((l) => /\bBudget\b/.test(l) && !/Re: Budget/.test(l));
  const reply = lines.findIndex((l) => /Re: Budget/.test(l));
  assert.ok(parent >= 0 && reply >= 0, `mutt did not list the messages:\n${screen}`);
  // The reply is the line right under its parent, drawn as its child ("`->" in ASCII thread art).
  assert.equal(reply, parent + 1, `the reply is not under its parent:\n${screen}`);
  assert.match(lines[reply] as string, /`->Re: Budget/, `no thread arrow:\n${screen}`);
  assert.doesNotMatch(lines[parent] as string, /->/, `the parent is drawn as a child:\n${screen}`);
  // mutt took the COMPRESS=DEFLATE the server offered (the server logs when deflate starts; its log is
  // written asynchronously, so it may come a moment after the screen).
  const compressed = (): boolean => server.output.some((l) => l.includes('"event":"compress"'));
  for (let i = 0; i < 40 && !compressed(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(compressed(), `mutt did not negotiate COMPRESS=DEFLATE:\n${server.output.join('').slice(-3000)}`);
  // The status line counts three messages in INBOX.
  assert.match(screen, /INBOX.*\[Msgs:3/, `unexpected status line:\n${screen}`);
  // mutt quits cleanly (q, then confirm): the server saw a LOGOUT, not a dropped connection.
  tmux('send-keys', 'q');
  await new Promise((r) => setTimeout(r, 200));
  tmux('send-keys', 'y');
});
