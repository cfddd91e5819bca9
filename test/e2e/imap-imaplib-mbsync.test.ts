// Python's imaplib and Debian's mbsync (isync) against `mailroom serve`: imaplib's commands one by one, and a complete
// Maildir sync of an account with several folders, then an incremental one after a server-side change.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { RawImap } from '../helpers/imap-raw.js';

let server: MailroomInstance;

before(async () => {
  server = await createMailroom({ enable: ['imap', 'imaps'] });
  server.cli(['domain', 'add', 'example.test']);
  server.cli(['user', 'add', 'py@example.test', '--password', 'py-secret']);
  server.cli(['user', 'add', 'sync@example.test', '--password', 'sync-secret']);
  await server.start();
});

after(async () => {
  await server.cleanup();
});

async function send(to: string, subject: string, text: string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: server.ports.smtp,
    name: 'client.example.net',
    tls: { rejectUnauthorized: false },
  });
  const info = await transport.sendMail({ from: 'sender@remote.example', to, subject, text });
  assert.deepEqual(info.accepted, [to]);
}

function python(script: string): Record<string, unknown> {
  const result = spawnSync('python3', ['-c', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, `python failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('Python imaplib', () => {
  test('STARTTLS, LOGIN, SELECT, SEARCH, FETCH, STORE, EXPUNGE, UID commands, literal APPEND', async () => {
    await send('py@example.test', 'alpha', 'first body\n');
    await send('py@example.test', 'beta', 'second body\n');
    await send('py@example.test', 'gamma', 'third body\n');
    const out = python(`
import imaplib, json, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = lambda v: [x.decode() if isinstance(x, bytes) else [y.decode() for y in x] for x in v]
M = imaplib.IMAP4('127.0.0.1', ${server.ports.imap})
M.starttls(ssl_context=ctx)
r = {}
r['login'] = M.login('py@example.test', 'py-secret')[0]
r['select'] = s(M.select('INBOX')[1])
r['search'] = s(M.search(None, 'SUBJECT', 'beta')[1])
r['all'] = s(M.search(None, 'ALL')[1])
typ, data = M.fetch('1', '(RFC822)')
r['rfc822'] = data[0][1].decode()
typ, data = M.fetch('2', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
r['subject'] = data[0][1].decode()
r['unseen'] = s(M.search(None, 'UNSEEN')[1])
r['store'] = s(M.store('3', '+FLAGS', '\\\\Deleted')[1])
r['expunge'] = s(M.expunge()[1])
r['uidsearch'] = s(M.uid('SEARCH', None, 'ALL')[1])
typ, data = M.uid('FETCH', '2', '(FLAGS BODY.PEEK[TEXT])')
r['uidfetch'] = [data[0][0].decode(), data[0][1].decode()]
r['uidstore'] = s(M.uid('STORE', '2', '+FLAGS', '(\\\\Flagged)')[1])
msg = b'From: py@example.test\\r\\nSubject: appended by imaplib\\r\\n\\r\\nliteral body\\r\\n'
r['append'] = s(M.append('INBOX', '(\\\\Seen)', imaplib.Time2Internaldate(1700000000), msg)[1])
r['after'] = s(M.search(None, 'SUBJECT', 'appended')[1])
r['logout'] = M.logout()[0]
print(json.dumps(r))
`);
    assert.equal(out.login, 'OK');
    assert.deepEqual(out.select, ['3']);
    assert.deepEqual(out.search, ['2']);
    assert.deepEqual(out.all, ['1 2 3']);
    assert.match(out.rfc822 as string, /^Return-Path: <sender@remote\.example>\r\n/);
    assert.match(out.rfc822 as string, /Subject: alpha\r\n[\s\S]*first body/);
    assert.equal(out.subject, 'Subject: beta\r\n\r\n');
    assert.deepEqual(out.unseen, ['2 3'], 'FETCH RFC822 set \\Seen on 1; BODY.PEEK did not on 2');
    assert.match((out.store as string[])[0] as string, /^3 \(FLAGS \(\\Deleted \\Recent\)\)$/);
    assert.deepEqual(out.expunge, ['3']);
    assert.deepEqual(out.uidsearch, ['1 2']);
    assert.match((out.uidfetch as string[])[0] as string, /UID 2/);
    assert.match((out.uidfetch as string[])[1] as string, /^second body\r\n$/);
    assert.match((out.uidstore as string[])[0] as string, /\\Flagged/);
    assert.match((out.append as string[])[0] as string, /^\[APPENDUID \d+ 4\] /);
    assert.deepEqual(out.after, ['3']);
    assert.equal(out.logout, 'BYE');
  });
});

/** Files of a Maildir folder (cur + new), name -> contents. */
function maildirFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const sub of ['cur', 'new']) {
    const d = join(dir, sub);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) out.set(f, readFileSync(join(d, f), 'latin1'));
  }
  return out;
}

describe('mbsync (isync)', () => {
  test('syncs every folder completely to a Maildir, then incrementally after a server-side change', async () => {
    const imap = await RawImap.open(server.ports.imaps as number, true);
    assert.equal((await imap.command('LOGIN sync@example.test sync-secret')).status, 'OK');
    assert.equal((await imap.command('CREATE Projects/2026')).status, 'OK');
    const bodies = new Map<string, string[]>([
      ['INBOX', []],
      ['Archive', []],
      ['Projects/2026', []],
    ]);
    for (let i = 1; i <= 4; i++) {
      await send('sync@example.test', `inbox ${i}`, `inbox body ${i}\n`);
    }
    for (const [folder, n] of [
      ['Archive', 3],
      ['Projects/2026', 2],
    ] as const) {
      for (let i = 1; i <= n; i++) {
        const msg = `From: sync@example.test\r\nSubject: ${folder} ${i}\r\n\r\n${folder} body ${i}\r\n`;
        const tag = imap.nextTag();
        imap.write(`${tag} APPEND "${folder}" {${Buffer.byteLength(msg)}+}\r\n${msg}\r\n`);
        assert.equal((await imap.until(tag)).status, 'OK');
      }
    }
    const dir = join(server.dir, 'maildir');
    mkdirSync(dir);
    const config = join(server.dir, 'mbsyncrc');
    writeFileSync(
      config,
      [
        'IMAPAccount mailroom',
        'Host 127.0.0.1',
        `Port ${server.ports.imaps}`,
        'User sync@example.test',
        'Pass sync-secret',
        'SSLType IMAPS', // isync 1.4 (Debian 12); 1.5 calls it TLSType
        `CertificateFile ${join(server.dataDir, 'tls', 'cert.pem')}`,
        'SystemCertificates no',
        '',
        'IMAPStore remote',
        'Account mailroom',
        '',
        'MaildirStore local',
        `Path ${dir}/`,
        `Inbox ${dir}/INBOX`,
        'SubFolders Verbatim',
        '',
        'Channel all',
        'Far :remote:',
        'Near :local:',
        'Patterns *',
        'Create Both',
        'SyncState *',
        'Expunge Both', // else a message expunged on the server is only marked T (trashed) locally
        '',
      ].join('\n'),
    );
    const run = (): string => {
      const r = spawnSync('mbsync', ['-c', config, '-a'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `mbsync failed: ${r.stderr}${r.stdout}`);
      return r.stdout + r.stderr;
    };
    run();
    const expected: Record<string, number> = {
      INBOX: 4,
      Archive: 3,
      'Projects/2026': 2,
      Sent: 0,
      Drafts: 0,
      Trash: 0,
      Junk: 0,
    };
    for (const [folder, count] of Object.entries(expected)) {
      const files = maildirFiles(join(dir, folder));
      assert.equal(files.size, count, `${folder} has ${count} messages`);
    }
    const inboxTexts = [...maildirFiles(join(dir, 'INBOX')).values()].sort();
    assert.ok(inboxTexts.every((t) => /^Return-Path: /.test(t)));
    assert.deepEqual(inboxTexts.map((t) => /inbox body \d/.exec(t)?.[0]).sort(), [
      'inbox body 1',
      'inbox body 2',
      'inbox body 3',
      'inbox body 4',
    ]);
    for (const [folder, list] of bodies) list.push(...maildirFiles(join(dir, folder)).values());
    // Bodies are byte for byte what the server has.
    const sel = await imap.command('EXAMINE Archive');
    assert.equal(sel.status, 'OK');
    const fetched = await imap.command('FETCH 1:* BODY.PEEK[]');
    const serverBodies = fetched.lines
      .filter((l) => l.includes('FETCH'))
      .map((l) => l.slice(l.indexOf('\r\n') + 2, l.lastIndexOf(')')))
      .sort();
    // mbsync stores LF line ends and adds its X-TUID tracking header (isync's documented behaviour).
    const asStored = (t: string): string => t.replace(/\r\n/g, '\n').replace(/^X-TUID: .*\n/m, '');
    assert.deepEqual([...(bodies.get('Archive') ?? [])].map(asStored).sort(), serverBodies.map(asStored));

    // Server-side change: one new message, one expunged, one flagged. The second run moves only that.
    await send('sync@example.test', 'inbox 5', 'inbox body 5\n');
    await imap.command('SELECT INBOX');
    await imap.command('STORE 1 +FLAGS (\\Deleted)');
    await imap.command('STORE 2 +FLAGS (\\Flagged)');
    await imap.command('EXPUNGE');
    const before = maildirFiles(join(dir, 'INBOX'));
    run();
    const afterSync = maildirFiles(join(dir, 'INBOX'));
    assert.equal(afterSync.size, 4);
    const added = [...afterSync.keys()].filter((k) => !before.has(k));
    const kept = [...afterSync.keys()].filter((k) => before.has(k));
    assert.equal(
      added.filter((k) => /inbox body 5/.test(afterSync.get(k) ?? '')).length,
      1,
      'the new one came',
    );
    assert.ok(kept.length >= 2, 'unchanged messages were not downloaded again');
    assert.ok(![...afterSync.values()].some((t) => /inbox body 1\b/.test(t)), 'the expunged one went');
    assert.ok(
      [...afterSync.keys()].some((k) => /:2,[A-Z]*F/.test(k)),
      'the \\Flagged flag arrived as Maildir F',
    );
    imap.close();
  });
});
