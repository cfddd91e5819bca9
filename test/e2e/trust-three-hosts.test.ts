// Issue 10 end to end: three `mailroom serve` processes (a.test, b.test, c.test) on loopback behind one DNS fixture: DKIM, SPF, DMARC, SRS, ARC and bounces.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { spawn } from 'node:child_process';
import { CLI, createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';
import { inboxOf } from '../helpers/mailbox.js';
import { startDnsFixture, type DnsFixture } from '../helpers/dns-fixture.js';

/**
 * Each instance has its own loopback address, as a host on the Internet has its own IP: its MX
 * listener binds it, its outbound SMTP leaves from it ([outbound] source_address), its MX name
 * resolves to it and its PTR names that MX, and its domain's SPF lists it. None of these addresses is
 * in the default trusted_networks (127.0.0.1/::1): every message between them is checked.
 */
const IP = { a: '127.0.0.2', b: '127.0.0.3', c: '127.0.0.4', forger: '127.0.0.5' } as const;

let dns: DnsFixture;
let a: MailroomInstance;
let b: MailroomInstance;
let c: MailroomInstance;

async function until<T>(what: string, f: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The n-th message of an INBOX, once it is there. */
async function nth(instance: MailroomInstance, address: string, n: number): Promise<string> {
  const box = await until(`${address} message ${n + 1}`, async () => {
    const got = await inboxOf(instance, address);
    return got.length > n ? got : null;
  });
  return box[n] ?? '';
}

/** Runs one CLI command for an instance without blocking (the three instances are set up at once). */
function cli(instance: MailroomInstance, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args, '--config', instance.configPath]);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.once('error', fail);
    child.once('close', (code) =>
      code === 0 ? done(out) : fail(new Error(`mailroom ${args.join(' ')} exited ${code}: ${err.trim()}`)),
    );
  });
}

/** Runs `mailroom doctor` (exit 1 while any record needs attention) and returns its JSON. */
function doctor(instance: MailroomInstance, domain: string): Promise<{ record: string; status: string }[]> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, 'doctor', domain, '--json', '--config', instance.configPath]);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.once('error', fail);
    child.once('close', () => {
      try {
        done(JSON.parse(out) as { record: string; status: string }[]);
      } catch (e) {
        fail(e as Error);
      }
    });
  });
}

async function setUp(instance: MailroomInstance, commands: string[][]): Promise<void> {
  for (const args of commands) await cli(instance, args);
}

/** `mailroom dkim generate` and publish its record, from the zone-file line it prints (strings <= 255 octets). */
async function publishDkim(instance: MailroomInstance, domain: string): Promise<void> {
  const out = await cli(instance, ['dkim', 'generate', domain, '--selector', 's1']);
  const zoneLine = /^; in a zone file .*?: (\S+) IN TXT \( (.*) \)$/m.exec(out);
  assert.ok(zoneLine, out);
  const strings = [...(zoneLine[2] ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');
  dns.zone[zoneLine[1] ?? ''] = { txt: [strings] };
}

/** The Authentication-Results header a host added (RFC 8601: authserv-id first), unfolded. */
function resultsBy(message: string, authservId: string): string {
  const head = message.slice(0, message.indexOf('\r\n\r\n'));
  for (const m of head.matchAll(/^Authentication-Results:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)/gim)) {
    const value = (m[1] ?? '').replace(/\s+/g, ' ').trim();
    if (value.toLowerCase().startsWith(`${authservId};`)) return value;
  }
  throw new Error(`no Authentication-Results by ${authservId} in:\n${head}`);
}

/** Moves the instance's [smtp] listener (MX) from 127.0.0.1 to its own address. */
function listenOn(instance: MailroomInstance, ip: string): void {
  const from = `[smtp]\nlisten = ["127.0.0.1:${instance.ports.smtp}"]`;
  const text = readFileSync(instance.configPath, 'utf8');
  assert.ok(text.includes(from), text);
  writeFileSync(instance.configPath, text.replace(from, `[smtp]\nlisten = ["${ip}:${instance.ports.smtp}"]`));
}

function instanceToml(source: string, extra: string[]): string {
  return [
    '[dns]',
    `servers = ["${dns.address}"]`,
    '[queue]',
    'retry_intervals = ["1s"]',
    '[outbound]',
    `source_address = "${source}"`,
    ...extra,
  ].join('\n');
}

before(async () => {
  dns = await startDnsFixture({});
  // Ports first (the config names the others' SMTP ports), processes after the DNS records are in.
  a = await createMailroom({ hostname: 'mx.a.test' });
  b = await createMailroom({ hostname: 'mx.b.test' });
  c = await createMailroom({ hostname: 'mx.c.test' });
  listenOn(a, IP.a);
  listenOn(b, IP.b);
  listenOn(c, IP.c);
  // A reaches b.test through its MX (outbound.port: B's SMTP port); B reaches c.test the same way and
  // a.test (bounces) by a route; C reaches b.test (its bounces to SRS addresses) by a route.
  appendFileSync(a.configPath, '\n' + instanceToml(IP.a, [`port = ${b.ports.smtp}`]));
  appendFileSync(
    b.configPath,
    '\n' +
      instanceToml(IP.b, [`port = ${c.ports.smtp}`, `routes = { "a.test" = "${IP.a}:${a.ports.smtp}" }`]),
  );
  appendFileSync(
    c.configPath,
    '\n' + instanceToml(IP.c, [`routes = { "b.test" = "${IP.b}:${b.ports.smtp}" }`]),
  );

  for (const [name, ip] of [
    ['a', IP.a],
    ['b', IP.b],
    ['c', IP.c],
  ] as const) {
    const domain = `${name}.test`;
    dns.zone[domain] = {
      mx: [{ preference: 10, exchange: `mx.${domain}` }],
      txt: [`v=spf1 ip4:${ip} -all`],
    };
    // The MX name (also the EHLO name); its SPF covers the null sender of DSNs (RFC 7208 2.3, HELO).
    dns.zone[`mx.${domain}`] = { a: [ip], txt: [`v=spf1 ip4:${ip} -all`] };
    dns.zone[`_dmarc.${domain}`] = { txt: [`v=DMARC1; p=reject; adkim=r; aspf=r`] };
    // Forward-confirmed reverse DNS (iprev, RFC 8601 3): the address names the MX, which names the address.
    dns.zone[`${ip.split('.').reverse().join('.')}.in-addr.arpa`] = { ptr: [`mx.${domain}`] };
  }

  await Promise.all([
    setUp(a, [
      ['domain', 'add', 'a.test'],
      ['user', 'add', 'alice@a.test', '--password', 'alice-pw'],
    ]).then(() => publishDkim(a, 'a.test')),
    setUp(b, [
      ['domain', 'add', 'b.test'],
      ['user', 'add', 'bob@b.test', '--password', 'bob-password'],
      ['alias', 'add', 'fwd@b.test', 'carol@c.test'],
      ['alias', 'add', 'gone@b.test', 'nobody@c.test'],
      ['alias', 'add', 'relay@b.test', 'away@c.test'],
      // B signs its DSNs and seals what it forwards (ARC) with its key.
    ]).then(() => publishDkim(b, 'b.test')),
    setUp(c, [
      ['domain', 'add', 'c.test'],
      ['user', 'add', 'carol@c.test', '--password', 'carol-pw'],
      // C forwards away@ to a domain that does not exist: accepted, then bounced by C's queue.
      ['alias', 'add', 'away@c.test', 'someone@nowhere.test'],
    ]).then(() => publishDkim(c, 'c.test')),
  ]);
  await Promise.all([a.start(), b.start(), c.start()]);
});

after(async () => {
  await Promise.all([a?.cleanup(), b?.cleanup(), c?.cleanup()]);
  await dns?.close();
});

function alice() {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: a.ports.submission,
    auth: { user: 'alice@a.test', pass: 'alice-pw' },
    tls: { rejectUnauthorized: false },
  });
}

describe('three Mailroom instances: a.test -> b.test -> c.test and back', () => {
  test('A signs; B checks from 127.0.0.2 and records dkim=pass, spf=pass, dmarc=pass (and iprev)', async () => {
    await alice().sendMail({
      from: 'alice@a.test',
      to: 'bob@b.test',
      subject: 'to bob',
      text: 'Hello Bob.\n',
    });
    const got = await nth(b, 'bob@b.test', 0);
    const ar = resultsBy(got, 'mx.b.test');
    assert.match(ar, /\bdkim=pass\b[^;]*header\.i=@a\.test/, ar);
    assert.match(ar, /\bspf=pass\b[^;]*smtp\.mailfrom=alice@a\.test/, ar);
    assert.match(ar, /\bdmarc=pass\b[^;]*header\.from=a\.test/, ar);
    assert.match(ar, /\biprev=pass\b[^;]*127\.0\.0\.2 \(mx\.a\.test\)/, ar);
    assert.match(got, /^DKIM-Signature: [^\r\n]*d=a\.test/m);
    assert.match(got, /^Return-Path: <alice@a\.test>\r\n/);
  });

  test('an alias on B forwards to C: SRS sender passes SPF at C, A signature survives, B adds an ARC set', async () => {
    await alice().sendMail({
      from: 'alice@a.test',
      to: 'fwd@b.test',
      subject: 'via fwd',
      text: 'Hello Carol.\n',
    });
    const got = await nth(c, 'carol@c.test', 0);
    const srs = /^Return-Path: <(SRS0=[^>]+=a\.test=alice@b\.test)>\r\n/.exec(got)?.[1];
    assert.ok(srs, `an SRS0 Return-Path at b.test:\n${got.slice(0, 2000)}`);
    const ar = resultsBy(got, 'mx.c.test');
    assert.match(ar, /\bdkim=pass\b[^;]*header\.i=@a\.test/, ar);
    assert.ok(ar.includes(`spf=pass (mx.c.test: domain of ${srs} designates ${IP.b}`), ar);
    assert.match(ar, /\bdmarc=pass\b[^;]*header\.from=a\.test/, ar);
    assert.match(ar, /\barc=pass\b/, ar);
    // B's ARC set (RFC 8617 4.1): i=1, sealed by b.test, cv=none on the first set; its AAR carries B's results.
    assert.match(got, /^ARC-Seal: [^\r\n]*(?:\r\n[ \t][^\r\n]*)*/m);
    const seal = /^ARC-Seal:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)/m.exec(got)?.[1]?.replace(/\s+/g, ' ') ?? '';
    assert.match(seal, /\bi=1;/, seal);
    assert.match(seal, /\bd=b\.test;/, seal);
    assert.match(seal, /\bcv=none;/, seal);
    assert.match(
      got,
      /^ARC-Authentication-Results: i=1; mx\.b\.test;[^\r\n]*(?:\r\n[ \t][^\r\n]*)*dkim=pass/m,
    );
  });

  test('C refuses the forwarded recipient (550): B bounces to its SRS sender, reversed to alice@a.test', async () => {
    const before = (await inboxOf(a, 'alice@a.test')).length;
    await alice().sendMail({
      from: 'alice@a.test',
      to: 'gone@b.test',
      subject: 'to gone',
      text: 'Anyone?\n',
    });
    const dsn = await nth(a, 'alice@a.test', before);
    assert.match(dsn, /^Return-Path: <>\r\n/);
    assert.match(dsn, /^From: Mail Delivery System <MAILER-DAEMON@mx\.b\.test>/m);
    assert.match(dsn, /Final-Recipient: rfc822; ?nobody@c\.test/i);
    assert.match(dsn, /Status: 5\.\d\.\d/);
    assert.match(dsn, /Subject: to gone/);
    const ar = resultsBy(dsn, 'mx.a.test');
    assert.match(ar, /\bdkim=pass\b[^;]*header\.i=@b\.test/, ar);
    assert.match(ar, /\bdmarc=pass\b/, ar);
  });

  test("C accepts, then its queue bounces: the DSN reaches B's MX at the SRS address and B reverses it to A", async () => {
    const before = (await inboxOf(a, 'alice@a.test')).length;
    await alice().sendMail({
      from: 'alice@a.test',
      to: 'relay@b.test',
      subject: 'to away',
      text: 'Far away.\n',
    });
    const dsn = await nth(a, 'alice@a.test', before);
    assert.match(dsn, /^Return-Path: <>\r\n/);
    assert.match(dsn, /^From: Mail Delivery System <MAILER-DAEMON@mx\.c\.test>/m);
    assert.match(dsn, /Final-Recipient: rfc822; ?someone@nowhere\.test/i);
    assert.match(dsn, /^Status: 5\.1\.2\r\n/m); // NXDOMAIN: bad destination system (RFC 3463 X.1.2)
    assert.match(dsn, /Subject: to away/);
    // B's check of C's DSN, then A's check of B's relay of it (the null sender: SPF of the HELO name).
    assert.match(resultsBy(dsn, 'mx.b.test'), /\bdkim=pass\b[^;]*header\.i=@c\.test/);
    const ar = resultsBy(dsn, 'mx.a.test');
    assert.match(ar, /\bdkim=pass\b[^;]*header\.i=@c\.test/, ar);
    assert.match(ar, /\bspf=pass\b[^;]*smtp\.helo=mx\.b\.test/, ar);
    assert.match(ar, /\bdmarc=pass\b/, ar);
  });

  test('mailroom doctor on each host agrees with what the receivers found (MTA-STS and TLS-RPT not published)', async () => {
    const hosts = [
      [a, 'a.test'],
      [b, 'b.test'],
      [c, 'c.test'],
    ] as const;
    const reports = await Promise.all(hosts.map(([instance, domain]) => doctor(instance, domain)));
    reports.forEach((results, i) => {
      const notOk = results.filter((r) => r.status !== 'ok').map((r) => `${r.record} ${r.status}`);
      assert.deepEqual(
        notOk,
        ['MTA-STS missing', 'MTA-STS missing', 'TLS-RPT missing'],
        `${hosts[i]?.[1]}: ${JSON.stringify(results)}`,
      );
    });
  });

  test('a forged message to B claiming a.test from an address outside its SPF, unsigned: 550 (p=reject)', async () => {
    const forger = nodemailer.createTransport({
      host: IP.b,
      port: b.ports.smtp,
      name: 'forger.test',
      localAddress: IP.forger,
      tls: { rejectUnauthorized: false },
    });
    const refused = await forger
      .sendMail({ from: 'alice@a.test', to: 'bob@b.test', subject: 'forged', text: 'Trust me.\n' })
      .then(
        () => null,
        (e: { responseCode?: number; response?: string }) => e,
      );
    assert.ok(refused, 'refused');
    assert.equal(refused.responseCode, 550, refused.response);
    assert.match(refused.response ?? '', /5\.7\.1.*DMARC/i);
    assert.equal((await inboxOf(b, 'bob@b.test')).length, 1, 'only the first, genuine message');
  });
});
