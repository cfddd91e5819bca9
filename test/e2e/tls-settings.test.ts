// Server TLS as a client sees it (issue 8 item 8): openssl s_client against implicit TLS and STARTTLS; certificate checks at start.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSelfSigned } from '../../src/net/tls.js';
import { CLI, createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { LISTENER_DEFAULTS } from '../../src/config/schema.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** One handshake with openssl s_client; the negotiated cipher, or null when the server refused. */
async function handshake(port: number, cipher: string, starttls?: 'smtp' | 'imap'): Promise<string | null> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', cipher];
  if (starttls) args.push('-starttls', starttls);
  const output = await new Promise<string>((done) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.stdin.end(); // EOF: s_client closes after the handshake
    const timer = setTimeout(() => child.kill(), 10_000);
    child.once('close', () => (clearTimeout(timer), done(text)));
  });
  const m = /Cipher is (\S+)/.exec(output);
  return m && m[1] !== '(NONE)' ? m[1]! : null;
}

describe('cipher policy (openssl s_client)', { skip: !hasOpenssl && 'openssl not installed' }, () => {
  let strict: MailroomInstance;
  let widened: MailroomInstance;
  before(async () => {
    strict = await createMailroom({ enable: ['imaps'] });
    widened = await createMailroom({
      enable: ['imaps'],
      extraToml: '[tls]\nciphers = "ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA"\nmin_version = "TLSv1.2"\n',
    });
    await Promise.all([strict.start(), widened.start()]);
  });
  after(async () => {
    await strict.cleanup();
    await widened.cleanup();
  });

  test('AES128-SHA (no forward secrecy) is refused on implicit TLS and STARTTLS', async () => {
    const results = await Promise.all([
      handshake(strict.ports.submissions, 'AES128-SHA'),
      handshake(strict.ports.imaps!, 'AES128-SHA'),
      handshake(strict.ports.smtp, 'AES128-SHA', 'smtp'),
      handshake(strict.ports.submissions, 'ECDHE-RSA-AES128-SHA'), // ECDHE but CBC: not AEAD
    ]);
    assert.deepEqual(results, [null, null, null, null]);
  });

  test('an ECDHE-AEAD cipher works, and the server order wins (honorCipherOrder)', async () => {
    const clientOrder = 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256';
    const results = await Promise.all([
      handshake(strict.ports.submissions, 'ECDHE-RSA-AES128-GCM-SHA256'),
      handshake(strict.ports.smtp, 'ECDHE-RSA-AES256-GCM-SHA384', 'smtp'),
      handshake(strict.ports.submissions, clientOrder),
      handshake(strict.ports.smtp, clientOrder, 'smtp'),
    ]);
    assert.deepEqual(results, [
      'ECDHE-RSA-AES128-GCM-SHA256',
      'ECDHE-RSA-AES256-GCM-SHA384',
      'ECDHE-RSA-AES128-GCM-SHA256',
      'ECDHE-RSA-AES128-GCM-SHA256',
    ]);
  });

  test('[tls] ciphers widened by the admin accepts AES128-SHA', async () => {
    const results = await Promise.all([
      handshake(widened.ports.submissions, 'AES128-SHA'),
      handshake(widened.ports.smtp, 'AES128-SHA', 'smtp'),
    ]);
    assert.deepEqual(results, ['AES128-SHA', 'AES128-SHA']);
  });
});

describe('certificate and key checked at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-tlscheck-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const now = new Date();
  const daysFromNow = (days: number) => new Date(now.getTime() + days * 86_400_000);
  let files = 0;
  const write = (text: string): string => {
    const path = join(dir, `f${files++}.pem`);
    writeFileSync(path, text);
    return path;
  };
  const config = (cert: string, key: string, hostname = 'mx.example.test'): string => {
    const off = Object.keys(LISTENER_DEFAULTS);
    const path = join(dir, `c${files++}.toml`);
    writeFileSync(
      path,
      [
        `hostname = "${hostname}"`,
        `data_dir = "${join(dir, 'data')}"`,
        ...off.map((l) => `[${l}]\nlisten = []`),
        `[tls]\ncert = "${cert}"\nkey = "${key}"`,
      ].join('\n'),
    );
    return path;
  };
  /** `mailroom serve`: exit status, stderr; serve with no listeners and a good pair is stopped by SIGTERM after ready. */
  const serve = (configPath: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn(process.execPath, [CLI, 'serve', '--config', configPath]);
      let stdout = '';
      let stderr = '';
      let signalled = false;
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        // Once: a second SIGTERM means "exit now" (status 1).
        if (!signalled && stdout.includes('"ready"')) signalled = child.kill('SIGTERM');
      });
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('close', (status) => (clearTimeout(timer), done({ status, stdout, stderr })));
    });

  test('expired, not yet valid, wrong key, unreadable, not PEM: one line each and exit 1', async () => {
    const good = await makeSelfSigned('mx.example.test', now);
    const other = await makeSelfSigned('mx.example.test', now);
    const expired = await makeSelfSigned('mx.example.test', daysFromNow(-900)); // valid 800 days
    const future = await makeSelfSigned('mx.example.test', daysFromNow(3));
    const cases: [string, string, RegExp][] = [
      [write(expired.cert), write(expired.key), /tls\.cert: .* expired on \d{4}-\d\d-\d\d$/],
      [write(future.cert), write(future.key), /tls\.cert: .* is not valid before \d{4}-\d\d-\d\d/],
      [write(good.cert), write(other.key), /tls\.key: .* is not the key of the certificate in /],
      [join(dir, 'missing.pem'), write(good.key), /tls\.cert: cannot read .*missing\.pem: ENOENT/],
      [write(good.cert), join(dir, 'nokey.pem'), /tls\.key: cannot read .*nokey\.pem: ENOENT/],
      [write('hello\n'), write(good.key), /tls\.cert: .* holds no PEM certificate/],
      [write(good.cert), write('hello\n'), /tls\.key: .* holds no PEM private key/],
    ];
    const results = await Promise.all(cases.map(([cert, key]) => serve(config(cert, key))));
    results.forEach((result, i) => {
      assert.equal(result.status, 1, `case ${i}: ${result.stderr}`);
      assert.equal(
        result.stderr.trimEnd().split('\n').length,
        1,
        `case ${i}: ${JSON.stringify(result.stderr)}`,
      );
      assert.match(result.stderr.trimEnd(), cases[i]![2]);
    });
  });

  test('another hostname, or expiry within 14 days: a warning line, and the server starts', async () => {
    const soon = await makeSelfSigned('other.example.test', daysFromNow(-790)); // 10 days left
    const result = await serve(config(write(soon.cert), write(soon.key)));
    assert.equal(result.status, 0, result.stderr);
    const warnings = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: string; msg: string })
      .filter((e) => e.level === 'warn' && e.msg.startsWith('tls.cert'))
      .map((e) => e.msg);
    assert.equal(warnings.length, 2, result.stdout);
    assert.match(
      warnings[0]!,
      /does not cover hostname mx\.example\.test \(it names DNS:other\.example\.test[,)]/,
    );
    assert.match(warnings[1]!, /expires on \d{4}-\d\d-\d\d, in (9|10) days/);
  });
});
