// Inbound checks over real sockets: an MX session from 127.0.0.x against the DNS fixture; AR header, DMARC, Junk, spoofing, DNSBL.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dkimSign, type DKIMSignOptions } from 'mailauth';
import { parseConfigText } from '../../src/config/load.js';
import { createMailResolver } from '../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { type DnsFixture, startDnsFixture } from '../helpers/dns-fixture.js';
import { captureLogs } from '../helpers/log-capture.js';

const key = generateKeyPairSync('ed25519');
const keyP = (key.publicKey.export({ type: 'spki', format: 'der' }) as Buffer)
  .subarray(12)
  .toString('base64');
const privateKey = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let dns: DnsFixture;
let server: RunningServer;
let dir: string;
let port: number;
let bob: number;
/** The server's log lines (docs/logs.md: the verdicts on message-accepted, inbound-checked). */
let logLines: Record<string, unknown>[];

before(async () => {
  dns = await startDnsFixture({
    'good.test': { txt: ['v=spf1 ip4:127.0.0.0/24 -all'] },
    'sel._domainkey.good.test': { txt: [`v=DKIM1; k=ed25519; p=${keyP}`] },
    '_dmarc.good.test': { txt: ['v=DMARC1; p=reject'] },
    '_dmarc.strict.test': { txt: ['v=DMARC1; p=reject'] },
    '_dmarc.quar.test': { txt: ['v=DMARC1; p=quarantine'] },
    '_dmarc.down.test': { fail: 'servfail' },
    '2.0.0.127.in-addr.arpa': { ptr: ['client.good.test'] },
    'client.good.test': { a: ['127.0.0.2'] },
    '3.0.0.127.bl.test': { a: ['127.0.0.2'], txt: ['127.0.0.3 is a test entry'] },
  });
  dir = mkdtempSync(join(tmpdir(), 'mailroom-inbound-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${dir}"`,
      ...['submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'http', 'https', 'metrics'].map(
        (s) => `[${s}]\nlisten = []`,
      ),
      '[smtp]\nlisten = ["127.0.0.1:0"]',
      `[dns]\nservers = ["${dns.address}"]`,
      '[inbound]\ndnsbl = ["bl.test"]',
    ].join('\n'),
    { configPath: null, baseDir: dir, defaultHostname: 'x' },
  );
  const logs = captureLogs();
  logLines = logs.lines;
  server = await startServer({
    config,
    logger: logs.logger,
    shutdownGraceMs: 200,
    resolver: createMailResolver({ servers: [dns.address], timeoutMs: 500, tries: 1 }),
  });
  server.store.addDomain('local.test');
  bob = server.store.addAccount('bob@local.test', 'x').id;
  server.store.addAccount('alice@local.test', 'x');
  port = server.addresses.smtp![0]!.port;
});

after(async () => {
  await server.shutdown();
  await dns.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `message` DKIM-signed for good.test (Ed25519, relaxed/relaxed). */
async function signGood(message: string) {
  return dkimSign(message, {
    canonicalization: 'relaxed/relaxed',
    signTime: new Date(), // else mailauth may sign another t= than it writes (1 in ~300)
    signatureData: [{ signingDomain: 'good.test', selector: 'sel', privateKey }],
  } as unknown as DKIMSignOptions); // mailauth 4.13 reads signatureData; its .d.ts only has the top-level form
}

/** One SMTP conversation from `from` (a loopback address); returns every reply line. */
async function smtp(commands: string[], from = '127.0.0.2'): Promise<string[]> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  const wait = async (count: number) => {
    const deadline = Date.now() + 5000;
    while ((text.match(/^\d{3} /gm) ?? []).length < count) {
      if (Date.now() > deadline) throw new Error(`no reply ${count}: ${text}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await once(socket, 'connect');
  await wait(1);
  for (let i = 0; i < commands.length; i++) {
    socket.write(commands[i]!);
    await wait(i + 2);
  }
  socket.end();
  return text.match(/^\d{3} .*$/gm) ?? [];
}

const send = (sender: string, message: string, from = '127.0.0.2') =>
  smtp(
    [
      'EHLO client.good.test\r\n',
      `MAIL FROM:<${sender}>\r\n`,
      'RCPT TO:<bob@local.test>\r\n',
      'DATA\r\n',
      `${message}.\r\n`,
      'QUIT\r\n',
    ],
    from,
  );

const msg = (from: string, extra = '') =>
  `${extra}From: ${from}\r\nTo: bob@local.test\r\nSubject: test ${Math.random()}\r\nMessage-ID: <${Math.random()}@x>\r\n\r\nHello.\r\n`;

async function stored(mailbox: string): Promise<string[]> {
  const box = server.store.getMailbox(bob, mailbox)!;
  const out: string[] = [];
  for (const m of server.store.listMessages(box.id))
    out.push((await server.store.readMessage(m.messageId)).toString());
  return out;
}

describe('inbound checks on the MX', () => {
  test('signed, SPF-authorized mail: 250; stored copy has Return-Path, Received, then our AR with spf/dkim/dmarc/iprev pass; forged AR with our id removed, others kept', async () => {
    const message = msg(
      'a@good.test',
      'Authentication-Results: MX.test; dkim=pass header.d=bank.example\r\nAuthentication-Results: elsewhere.example; spf=fail\r\n',
    );
    const signed = await signGood(message);
    const replies = await send('a@good.test', signed.signatures + message);
    assert.match(replies[5]!, /^250 /, replies.join('\n'));
    const copy = (await stored('INBOX')).at(-1)!;
    const lines = copy.split('\r\n');
    assert.match(lines[0]!, /^Return-Path: <a@good\.test>/);
    assert.match(lines[1]!, /^Received: from client\.good\.test/);
    const ar = copy.slice(copy.indexOf('Authentication-Results: mx.test;'), copy.indexOf('DKIM-Signature'));
    assert.ok(copy.indexOf('Authentication-Results: mx.test;') > copy.indexOf('Received:'));
    assert.match(ar, /dkim=pass header\.i=@good\.test/);
    assert.match(ar, /spf=pass .*smtp\.mailfrom=a@good\.test/);
    assert.match(ar, /dmarc=pass \(p=reject\) header\.from=good\.test/);
    assert.match(ar, /iprev=pass policy\.iprev=127\.0\.0\.2 \(client\.good\.test\)/);
    assert.equal((copy.match(/^Authentication-Results: mx\.test/gim) ?? []).length, 1, copy);
    assert.doesNotMatch(copy, /bank\.example/);
    assert.match(copy, /Authentication-Results: elsewhere\.example; spf=fail/);
  });

  test('the log: a message let through has its verdicts on message-accepted; inbound-checked for forged fields removed and a refusal', async () => {
    const events = (name: string) => logLines.filter((l) => l.event === name);
    const checked = events('inbound-checked').length;
    const plain = msg('a@good.test');
    const signed = await signGood(plain);
    assert.match((await send('a@good.test', signed.signatures + plain))[5]!, /^250 /);
    const accepted = events('message-accepted').at(-1)!;
    assert.match(String(accepted.auth), /dkim=pass/);
    assert.match(String(accepted.auth), /spf=pass/);
    assert.match(String(accepted.auth), /dmarc=pass/);
    assert.equal(events('inbound-checked').length, checked, 'no line of its own');
    // A forged Authentication-Results of ours removed: said on its own line.
    const forged = msg('a@good.test', 'Authentication-Results: mx.test; dkim=pass\r\n');
    const forgedSigned = await signGood(forged);
    assert.match((await send('a@good.test', forgedSigned.signatures + forged))[5]!, /^250 /);
    assert.deepEqual(
      events('inbound-checked')
        .slice(checked)
        .map(({ action, removedForged }) => ({ action, removedForged })),
      [{ action: 'deliver', removedForged: 1 }],
    );
    // A refusal: its verdict's line.
    assert.match((await send('x@strict.test', msg('x@strict.test')))[5]!, /^550 /);
    assert.deepEqual(events('inbound-checked').at(-1)!.action, 'reject');
  });

  test('DMARC p=reject failure: 550 5.7.1 naming DMARC after DATA, nothing stored', async () => {
    const before = (await stored('INBOX')).length;
    const replies = await send('x@strict.test', msg('x@strict.test'));
    assert.match(replies[5]!, /^550 5\.7\.1 .*DMARC.*strict\.test/);
    assert.equal((await stored('INBOX')).length, before);
  });

  test('DMARC p=quarantine failure: delivered into Junk, not INBOX', async () => {
    const inbox = (await stored('INBOX')).length;
    const replies = await send('x@quar.test', msg('x@quar.test'));
    assert.match(replies[5]!, /^250 /);
    const junk = await stored('Junk');
    assert.equal(junk.length, 1);
    assert.match(junk[0]!, /dmarc=fail/);
    assert.equal((await stored('INBOX')).length, inbox);
  });

  test('a stranger claiming a local domain (MAIL FROM or From) is refused 550 5.7.1', async () => {
    assert.match((await send('alice@local.test', msg('alice@local.test')))[5]!, /^550 5\.7\.1 .*local\.test/);
    assert.match((await send('x@elsewhere.example', msg('alice@local.test')))[5]!, /^550 5\.7\.1 /);
    // a null-sender DSN from outside is not affected
    assert.match((await send('', msg('MAILER-DAEMON@elsewhere.example')))[5]!, /^250 /);
  });

  test('a DNS failure while checking: 451 4.4.3, never 5xx', async () => {
    assert.match((await send('x@down.test', msg('x@down.test')))[5]!, /^451 4\.4\.3 /);
  });

  test('the trusted host (127.0.0.1) is not checked: no AR header of ours', async () => {
    assert.match((await send('alice@local.test', msg('alice@local.test'), '127.0.0.1'))[5]!, /^250 /);
    assert.doesNotMatch((await stored('INBOX')).at(-1)!, /Authentication-Results: mx\.test/);
  });

  test('DNSBL: a listed client gets a 554 5.7.1 greeting naming the list; only QUIT is served', async () => {
    const replies = await smtp(['EHLO x\r\n', 'MAIL FROM:<a@good.test>\r\n', 'QUIT\r\n'], '127.0.0.3');
    assert.match(replies[0]!, /^554 .*listed by bl\.test: 127\.0\.0\.3 is a test entry/);
    assert.match(replies[1]!, /^503 /);
    assert.match(replies[2]!, /^503 /);
    assert.match(replies[3]!, /^221 /);
    // not listed: the usual greeting
    assert.match((await smtp(['QUIT\r\n'], '127.0.0.2'))[0]!, /^220 /);
  });
});
