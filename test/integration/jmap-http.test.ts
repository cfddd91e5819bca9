// JMAP over real HTTP (in-process server on port 0): session, 401s, Core/echo, request errors, limits, blobs, EventSource, https.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password-hash.js';
import { JMAP_CORE_LIMITS } from '../../src/config/limits.js';
import { parseConfigText } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';

const PARAMS = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const CORE = 'urn:ietf:params:jmap:core';

let server: RunningServer;
let dir: string;
let base: string;
let bobId: string;
let carolId: string;
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const BOB = basic('bob@example.test', 'bob secret');
const CAROL = basic('carol@example.test', 'carol secret');

async function start(extraToml = ''): Promise<{ server: RunningServer; dir: string }> {
  const d = mkdtempSync(join(tmpdir(), 'mailroom-jmap-'));
  const config = parseConfigText(
    [
      'hostname = "mx.test"',
      `data_dir = "${d}"`,
      ...['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s'].map(
        (s) => `[${s}]\nlisten = []`,
      ),
      '[http]\nlisten = ["127.0.0.1:0"]',
      '[https]\nlisten = ["127.0.0.1:0"]',
      '[metrics]\nlisten = []',
      extraToml,
    ].join('\n'),
    { configPath: null, baseDir: d, defaultHostname: 'x' },
  );
  const s = await startServer({ config, logger: silentLogger(), shutdownGraceMs: 200 });
  return { server: s, dir: d };
}

before(async () => {
  ({ server, dir } = await start());
  server.store.addDomain('example.test');
  bobId = `A${server.store.addAccount('bob@example.test', await hashPassword('bob secret', { params: PARAMS })).id}`;
  carolId = `A${server.store.addAccount('carol@example.test', await hashPassword('carol secret', { params: PARAMS })).id}`;
  base = `http://127.0.0.1:${server.addresses.http![0]!.port}`;
});

after(async () => {
  await server.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

function api(body: unknown, auth = BOB, contentType = 'application/json'): Promise<Response> {
  return fetch(`${base}/jmap/api`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('session resource and authentication', () => {
  test('no credentials, a wrong password and an unknown user all get the same 401 with the Basic challenge', async () => {
    const answers = [];
    for (const auth of [
      undefined,
      basic('bob@example.test', 'wrong'),
      basic('nobody@example.test', 'wrong'),
    ]) {
      const res = await fetch(`${base}/.well-known/jmap`, auth ? { headers: { authorization: auth } } : {});
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="mailroom", charset="UTF-8"');
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      answers.push(((await res.json()) as { status: number }).status);
    }
    assert.deepEqual(answers, [401, 401, 401]);
  });

  test('GET /.well-known/jmap: capabilities with the core limits, the account, URLs and state (RFC 8620 2)', async () => {
    const res = await fetch(`${base}/.well-known/jmap`, { headers: { authorization: BOB } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const session = (await res.json()) as Record<string, unknown>;
    const core = (session.capabilities as Record<string, Record<string, unknown>>)[CORE]!;
    assert.equal(core.maxSizeUpload, JMAP_CORE_LIMITS.maxSizeUpload);
    assert.equal(core.maxCallsInRequest, JMAP_CORE_LIMITS.maxCallsInRequest);
    assert.equal(core.maxConcurrentRequests, JMAP_CORE_LIMITS.maxConcurrentRequests);
    assert.deepEqual(core.collationAlgorithms, ['i;ascii-numeric', 'i;ascii-casemap', 'i;unicode-casemap']);
    assert.deepEqual(Object.keys(session.accounts as object), [bobId]);
    assert.equal(session.username, 'bob@example.test');
    assert.equal(session.apiUrl, `${base}/jmap/api`);
    assert.equal(session.uploadUrl, `${base}/jmap/upload/{accountId}/`);
    assert.equal(session.downloadUrl, `${base}/jmap/download/{accountId}/{blobId}/{name}?accept={type}`);
    assert.match(
      String(session.eventSourceUrl),
      /\?types=\{types\}&closeafter=\{closeafter\}&ping=\{ping\}$/,
    );
    assert.match(String(session.state), /^[A-Za-z0-9_-]{16}$/);
  });

  test('the same over [https] with the [tls] certificate', async () => {
    const port = server.addresses.https![0]!.port;
    const { status, body } = await new Promise<{ status: number; body: string }>((done, fail) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/.well-known/jmap',
          rejectUnauthorized: false,
          headers: { authorization: BOB },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => done({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', fail);
      req.end();
    });
    assert.equal(status, 200);
    assert.equal((JSON.parse(body) as { apiUrl: string }).apiUrl, `https://127.0.0.1:${port}/jmap/api`);
  });

  test('an unknown path is 404 and a wrong method 405 with Allow', async () => {
    assert.equal((await fetch(`${base}/jmap/nope`)).status, 404);
    const res = await fetch(`${base}/jmap/api`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
  });
});

describe('the API endpoint', () => {
  test('Core/echo answers with its arguments and the session state (RFC 8620 4)', async () => {
    const res = await api({ using: [CORE], methodCalls: [['Core/echo', { hello: true, high: 5 }, 'b3ff']] });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { methodResponses: unknown[]; sessionState: string };
    assert.deepEqual(body.methodResponses, [['Core/echo', { hello: true, high: 5 }, 'b3ff']]);
    const session = (await (
      await fetch(`${base}/.well-known/jmap`, { headers: { authorization: BOB } })
    ).json()) as {
      state: string;
    };
    assert.equal(body.sessionState, session.state);
  });

  test('request-level errors are problem details with their status (RFC 8620 3.6.1)', async () => {
    const rows: [unknown, string, number, string][] = [
      ['{"using": [', 'application/json', 400, 'notJSON'],
      [{ using: [CORE], methodCalls: [] }, 'text/plain', 400, 'notJSON'],
      [[1, 2], 'application/json', 400, 'notRequest'],
      [{ using: [CORE, 'urn:example:nope'], methodCalls: [] }, 'application/json', 400, 'unknownCapability'],
    ];
    for (const [body, type, status, error] of rows) {
      const res = await api(body, BOB, type);
      assert.equal(res.status, status, error);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const problem = (await res.json()) as { type: string; status: number };
      assert.equal(problem.type, `urn:ietf:params:jmap:error:${error}`);
      assert.equal(problem.status, status);
    }
  });

  test('10,000 calls in one request: limit maxCallsInRequest', async () => {
    const calls = Array.from({ length: 10_000 }, (_, i) => ['Core/echo', {}, `c${i}`]);
    const res = await api({ using: [CORE], methodCalls: calls });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      type: 'urn:ietf:params:jmap:error:limit',
      status: 400,
      detail: `at most ${JMAP_CORE_LIMITS.maxCallsInRequest} method calls in one request`,
      limit: 'maxCallsInRequest',
    });
  });

  test('a body over maxSizeRequest: 413 limit maxSizeRequest, streamed (chunked) or declared', async () => {
    const big = `{"using":[],"methodCalls":[],"pad":"${'x'.repeat(JMAP_CORE_LIMITS.maxSizeRequest)}"}`;
    const res = await api(big);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { limit: string }).limit, 'maxSizeRequest');
    const raw = await rawRequest(
      `POST /jmap/api HTTP/1.1\r\nHost: x\r\nAuthorization: ${BOB}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${JMAP_CORE_LIMITS.maxSizeRequest + 1}\r\n\r\n`,
    );
    assert.match(raw, /^HTTP\/1\.1 413 /);
    assert.match(raw, /"limit":"maxSizeRequest"/);
  });

  test(`maxConcurrentRequests: with ${JMAP_CORE_LIMITS.maxConcurrentRequests} requests in progress the next is 429 limit`, async () => {
    // Requests whose bodies have not finished arriving are in progress: they hold a slot each.
    const slow: Socket[] = [];
    for (let i = 0; i < JMAP_CORE_LIMITS.maxConcurrentRequests; i++) {
      const s = connect(server.addresses.http![0]!.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(
        `POST /jmap/api HTTP/1.1\r\nHost: x\r\nAuthorization: ${BOB}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
      );
      slow.push(s);
    }
    try {
      let res: Response | null = null;
      for (let attempt = 0; attempt < 50; attempt++) {
        res = await api({ using: [CORE], methodCalls: [] });
        if (res.status === 429) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(res!.status, 429);
      assert.equal(((await res!.json()) as { limit: string }).limit, 'maxConcurrentRequests');
      // Another account is not affected.
      assert.equal((await api({ using: [CORE], methodCalls: [] }, CAROL)).status, 200);
    } finally {
      for (const s of slow) s.destroy();
    }
    // Slots are released when those requests end.
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = (await api({ using: [CORE], methodCalls: [] })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(status, 200);
  });

  test('maxConcurrentRequests: a request over the limit waits for a slot freed meanwhile instead of a 429', async () => {
    const slow: Socket[] = [];
    for (let i = 0; i < JMAP_CORE_LIMITS.maxConcurrentRequests; i++) {
      const s = connect(server.addresses.http![0]!.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(
        `POST /jmap/api HTTP/1.1\r\nHost: x\r\nAuthorization: ${BOB}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{`,
      );
      slow.push(s);
    }
    try {
      // Let the server take the four slots, then ask once more: this one has to wait.
      await new Promise((r) => setTimeout(r, 200));
      const waiting = api({ using: [CORE], methodCalls: [['Core/echo', { n: 1 }, 'e']] });
      await new Promise((r) => setTimeout(r, 100));
      // One slow request finishes (a body that is not JSON: its 400 frees its slot).
      slow[0]!.write('x');
      const res = await waiting;
      assert.equal(res.status, 200);
      assert.deepEqual(((await res.json()) as { methodResponses: unknown[] }).methodResponses, [
        ['Core/echo', { n: 1 }, 'e'],
      ]);
    } finally {
      for (const s of slow) s.destroy();
    }
  });

  test('requests whose clients hung up before their bodies were read give their slots back (no lockout)', async () => {
    // Fill the slots with requests whose bodies are not finished, then queue whole requests behind them
    // and hang those up while they wait: they get their slots only after their sockets are gone, and
    // must not hold them for ever waiting for the end of a body node:http has already thrown away.
    const port = server.addresses.http![0]!.port;
    const body = JSON.stringify({ using: [CORE], methodCalls: [['Core/echo', {}, 'e']] });
    const slow: Socket[] = [];
    for (let i = 0; i < JMAP_CORE_LIMITS.maxConcurrentRequests; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(
        `POST /jmap/api HTTP/1.1\r\nHost: x\r\nAuthorization: ${BOB}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{`,
      );
      slow.push(s);
    }
    await new Promise((r) => setTimeout(r, 200));
    const gone: Promise<void>[] = [];
    for (let i = 0; i < JMAP_CORE_LIMITS.maxConcurrentRequests; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(
        `POST /jmap/api HTTP/1.1\r\nHost: x\r\nAuthorization: ${BOB}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      gone.push(new Promise((closed) => s.end(() => (s.destroy(), closed()))));
    }
    await Promise.all(gone);
    await new Promise((r) => setTimeout(r, 100));
    // The slow ones end (a body that is not JSON: 400): the hung-up ones take their slots, then leave them.
    for (const s of slow) s.end('x');
    await new Promise((r) => setTimeout(r, 300));
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await api({ using: [CORE], methodCalls: [] })).status);
    assert.deepEqual(statuses, [200, 200, 200]);
  });
});

describe('blobs', () => {
  test('a download whose client stops reading and hangs up lets go of the blob (no file left open)', async () => {
    // Files of the data directory this process has open (the store's own, plus any blob being sent).
    const openInDataDir = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
        } catch {
          return false;
        }
      }).length;
    // Larger than loopback's socket buffers, so the server has to wait for the client to read.
    const bytes = Buffer.alloc(24 * 1024 * 1024, 0x61);
    const up = await fetch(`${base}/jmap/upload/${bobId}/`, {
      method: 'POST',
      headers: { authorization: BOB, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    const { blobId } = (await up.json()) as { blobId: string };
    const before = openInDataDir();
    const socket = connect(server.addresses.http![0]!.port, '127.0.0.1');
    socket.on('error', () => undefined);
    let received = 0;
    socket.once('data', (chunk: Buffer) => {
      received = chunk.length;
      socket.pause(); // reads nothing more
    });
    socket.write(
      `GET /jmap/download/${bobId}/${blobId}/big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: ${BOB}\r\n\r\n`,
    );
    for (let i = 0; i < 100 && received === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(received > 0, 'the download started');
    await new Promise((r) => setTimeout(r, 300));
    socket.destroy();
    let after = openInDataDir();
    for (let i = 0; i < 50 && after > before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = openInDataDir();
    }
    assert.equal(after, before, 'the blob file was closed');
  });

  test('upload, download with name and type, Blob/copy; another account cannot read or copy it', async () => {
    const bytes = Buffer.from('%PDF-1.4 not really\r\n\x00\xff binary');
    const up = await fetch(`${base}/jmap/upload/${bobId}/`, {
      method: 'POST',
      headers: { authorization: BOB, 'content-type': 'application/pdf' },
      body: bytes,
    });
    assert.equal(up.status, 201);
    const blob = (await up.json()) as { accountId: string; blobId: string; type: string; size: number };
    assert.equal(blob.accountId, bobId);
    assert.equal(blob.type, 'application/pdf');
    assert.equal(blob.size, bytes.length);

    const down = await fetch(
      `${base}/jmap/download/${bobId}/${blob.blobId}/r%C3%A9sum%C3%A9.pdf?accept=application/pdf`,
      {
        headers: { authorization: BOB },
      },
    );
    assert.equal(down.status, 200);
    assert.equal(down.headers.get('content-type'), 'application/pdf');
    assert.equal(
      down.headers.get('content-disposition'),
      `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`,
    );
    assert.deepEqual(Buffer.from(await down.arrayBuffer()), bytes);

    // Carol: neither through her own account id nor through Bob's.
    for (const accountId of [carolId, bobId]) {
      const res = await fetch(`${base}/jmap/download/${accountId}/${blob.blobId}/x.pdf`, {
        headers: { authorization: CAROL },
      });
      assert.equal(res.status, 404, accountId);
    }
    const carolCopy = await api(
      {
        using: [CORE],
        methodCalls: [
          ['Blob/copy', { fromAccountId: bobId, accountId: carolId, blobIds: [blob.blobId] }, '0'],
        ],
      },
      CAROL,
    );
    assert.deepEqual(((await carolCopy.json()) as { methodResponses: unknown[] }).methodResponses, [
      ['error', { type: 'fromAccountNotFound', description: `no account "${bobId}"` }, '0'],
    ]);

    const copy = await api({
      using: [CORE],
      methodCalls: [
        ['Blob/copy', { fromAccountId: bobId, accountId: bobId, blobIds: [blob.blobId, 'U999999'] }, '0'],
      ],
    });
    const [[name, args]] = ((await copy.json()) as { methodResponses: [string, Record<string, unknown>][] })
      .methodResponses as [[string, { copied: Record<string, string>; notCopied: Record<string, unknown> }]];
    assert.equal(name, 'Blob/copy');
    assert.deepEqual(args.notCopied, { U999999: { type: 'notFound' } });
    const copiedId = args.copied[blob.blobId]!;
    const again = await fetch(`${base}/jmap/download/${bobId}/${copiedId}/copy.bin`, {
      headers: { authorization: BOB },
    });
    assert.equal(again.headers.get('content-type'), 'application/pdf'); // the stored type without accept=
    assert.deepEqual(Buffer.from(await again.arrayBuffer()), bytes);
  });

  test('an upload declared over maxSizeUpload is refused before it is read: 413 limit maxSizeUpload', async () => {
    const raw = await rawRequest(
      `POST /jmap/upload/${bobId}/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${BOB}\r\n` +
        `Content-Length: ${JMAP_CORE_LIMITS.maxSizeUpload + 1}\r\n\r\n`,
    );
    assert.match(raw, /^HTTP\/1\.1 413 /);
    assert.match(raw, /"limit":"maxSizeUpload"/);
  });

  test("uploading to another user's account is 404", async () => {
    const res = await fetch(`${base}/jmap/upload/${bobId}/`, {
      method: 'POST',
      headers: { authorization: CAROL },
      body: 'x',
    });
    assert.equal(res.status, 404);
  });
});

describe('EventSource push (RFC 8620 7.3)', () => {
  test('the current state at once, then a StateChange within a second of an IMAP-side change; ping interval', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/jmap/eventsource/?types=Email,Mailbox&closeafter=no&ping=5`, {
      headers: { authorization: BOB },
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    let text = '';
    const nextEvent = async (): Promise<{ event: string; data: Record<string, unknown> }> => {
      for (;;) {
        const end = text.indexOf('\n\n');
        if (end >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)![1]!;
          return { event, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown> };
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += Buffer.from(value).toString();
      }
    };
    try {
      const first = await nextEvent();
      assert.equal(first.event, 'state');
      assert.equal(first.data['@type'], 'StateChange');
      const initial = (first.data.changed as Record<string, Record<string, string>>)[bobId]!;
      assert.deepEqual(Object.keys(initial).sort(), ['Email', 'Mailbox']);
      const inbox = server.store.getMailbox(Number(bobId.slice(1)), 'INBOX')!;
      const t0 = Date.now();
      await server.store.mail.append(
        inbox.id,
        { kind: 'memory', chunks: [Buffer.from('Subject: hi\r\n\r\nhello\r\n')], size: 23 },
        [],
        new Date(),
      );
      const change = await nextEvent();
      assert.ok(Date.now() - t0 < 1000);
      const changed = (change.data.changed as Record<string, Record<string, string>>)[bobId]!;
      assert.deepEqual(Object.keys(changed).sort(), ['Email', 'Mailbox']); // Thread was not asked for
      assert.notEqual(changed.Email, initial.Email);
    } finally {
      controller.abort();
    }
  });

  test('closeafter=state ends the response after the first change; a bad query is 400', async () => {
    const res = await fetch(`${base}/jmap/eventsource/?types=*&closeafter=state&ping=0`, {
      headers: { authorization: BOB },
    });
    const inbox = server.store.getMailbox(Number(bobId.slice(1)), 'INBOX')!;
    setTimeout(() => {
      void server.store.mail.append(
        inbox.id,
        { kind: 'memory', chunks: [Buffer.from('\r\nx')], size: 3 },
        [],
        new Date(),
      );
    }, 50);
    const text = await res.text(); // resolves only because the server ends the stream
    assert.match(text, /^event: state\ndata: \{"@type":"StateChange","changed":\{"A\d+":\{"Email":/);
    assert.equal(
      (await fetch(`${base}/jmap/eventsource/?closeafter=maybe`, { headers: { authorization: BOB } })).status,
      400,
    );
  });
});

describe('shutdown', () => {
  test('an open EventSource stream and an idle keep-alive connection are ended, and shutdown does not wait for them', async () => {
    const other = await start();
    const port = other.server.addresses.http![0]!.port;
    try {
      other.server.store.addDomain('example.test');
      other.server.store.addAccount('bob@example.test', await hashPassword('bob secret', { params: PARAMS }));
      const res = await fetch(`http://127.0.0.1:${port}/jmap/eventsource/?types=*&closeafter=no&ping=0`, {
        headers: { authorization: BOB },
      });
      const streamEnded = res.text(); // resolves when the server ends the stream
      const idle = connect(port, '127.0.0.1');
      idle.on('error', () => undefined);
      const idleClosed = new Promise((r) => idle.once('close', r));
      idle.write(`GET /.well-known/jmap HTTP/1.1\r\nHost: x\r\nAuthorization: ${BOB}\r\n\r\n`);
      await new Promise((r) => idle.once('data', r)); // answered; now idle on keep-alive
      const t0 = Date.now();
      await other.server.shutdown();
      assert.ok(Date.now() - t0 < 1500, `${Date.now() - t0} ms`);
      assert.match(await streamEnded, /^event: state\n/);
      await idleClosed;
    } finally {
      rmSync(other.dir, { recursive: true, force: true });
    }
  });
});

describe('plain HTTP without allow_loopback_plaintext', () => {
  test('credentials over plain HTTP are refused (403) without checking them; TLS still works', async () => {
    const other = await start('[auth]\nallow_loopback_plaintext = false');
    try {
      const res = await fetch(`http://127.0.0.1:${other.server.addresses.http![0]!.port}/.well-known/jmap`, {
        headers: { authorization: BOB },
      });
      assert.equal(res.status, 403);
    } finally {
      await other.server.shutdown();
      rmSync(other.dir, { recursive: true, force: true });
    }
  });
});

/** Sends raw bytes and returns everything the server answers until it closes or 2 s pass. */
function rawRequest(text: string): Promise<string> {
  return new Promise((done) => {
    const s = connect(server.addresses.http![0]!.port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => s.destroy(), 2000);
    s.on('data', (d) => {
      out += d.toString();
      if (/\r\n\r\n[\s\S]*\}$/.test(out)) s.destroy();
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      done(out);
    });
    s.write(text);
  });
}

describe('connection limits and timeouts', () => {
  test('past max_connections_per_ip a connection gets 503 and is closed; a header block that never ends is cut off', async () => {
    const other = await start('[limits]\nmax_connections_per_ip = 1');
    const port = other.server.addresses.http![0]!.port;
    try {
      const first = connect(port, '127.0.0.1');
      first.on('error', () => undefined);
      await new Promise((r) => first.once('connect', r));
      first.write('GET /.well-known/jmap HTTP/1.1\r\nHost: x\r\n'); // ... and never the end of the headers
      const refused = await new Promise<string>((done) => {
        const s = connect(port, '127.0.0.1');
        let text = '';
        s.on('data', (d) => (text += d.toString()));
        s.on('error', () => undefined);
        s.on('close', () => done(text));
      });
      assert.match(refused, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
      first.destroy();
    } finally {
      await other.server.shutdown();
      rmSync(other.dir, { recursive: true, force: true });
    }
  });

  test('node:http enforces headersTimeout on connections handed over by the listener (slowloris)', async () => {
    const { createHttpServer } = await import('../../src/http/server.js');
    const { HTTP_LIMITS } = await import('../../src/config/limits.js');
    const { createServer } = await import('node:net');
    const http = createHttpServer(
      (_req, res) => res.end('ok'),
      { ...HTTP_LIMITS, headersTimeoutMs: 300, requestTimeoutMs: 300 },
      100,
    );
    const tcp = createServer((socket) => http.emit('connection', socket));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    try {
      const s = connect((tcp.address() as { port: number }).port, '127.0.0.1');
      s.on('error', () => undefined);
      const t0 = Date.now();
      s.write('GET / HTTP/1.1\r\nHost: x\r\n');
      const giveUp = setTimeout(() => s.destroy(), 3000); // bounded: without the timeout the socket stays open
      const text = await new Promise<string>((done) => {
        let out = '';
        s.on('data', (d) => (out += d.toString()));
        s.on('close', () => done(out));
      });
      clearTimeout(giveUp);
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.ok(Date.now() - t0 < 3000, `closed after ${Date.now() - t0} ms`);
    } finally {
      tcp.close();
      http.close();
    }
  });

  test('a header block over maxHeaderBytes gets 431 and the connection is closed', async () => {
    const raw = await rawRequest(
      `GET /.well-known/jmap HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assert.match(raw, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  });

  test('wrong passwords go through the shared limiter: after the free failures the answer is slowed', async () => {
    const wrong = basic('carol@example.test', 'nope');
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      const res = await fetch(`${base}/.well-known/jmap`, { headers: { authorization: wrong } });
      assert.equal(res.status, 401);
      times.push(Date.now() - t0);
    }
    // AUTH_FAILURE_LIMITS: 3 free failures per account, then the next attempt waits about a second.
    assert.ok(times[4]! >= 900, times.join(' '));
    // The right password still gets in (after the account's delay), and a success clears the account's count.
    const ok = await fetch(`${base}/.well-known/jmap`, { headers: { authorization: CAROL } });
    assert.equal(ok.status, 200);
  });
});
