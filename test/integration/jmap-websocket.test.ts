// JMAP over WebSocket (RFC 8887) over a real socket: the capability, the handshake and its auth, Request/Response, errors, push.
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:net';
import assert from 'node:assert/strict';
import { newApiToken } from '../../src/auth/api-token.js';
import { CLOSE_CODE, OPCODE } from '../../src/http/websocket/frames.js';
import { startJmapServer, USING, type JmapTestServer } from '../helpers/jmap-server.js';
import { openWs, type WsTestClient } from '../helpers/ws-client.js';

let t: JmapTestServer;
let port: number;
before(async () => {
  t = await startJmapServer('', []);
  port = t.server.addresses.http![0]!.port;
});
after(async () => {
  await t.close();
});

async function bobWs(): Promise<WsTestClient> {
  const ws = await openWs(port, '/jmap/ws', { Authorization: t.bob.auth });
  assert.equal(ws.status, 101, ws.head);
  return ws;
}

async function nextOfType(
  ws: WsTestClient,
  type: string,
  timeoutMs = 3000,
): Promise<Record<string, unknown>> {
  for (;;) {
    const m = await ws.nextJson(timeoutMs);
    if (m['@type'] === type) return m;
  }
}

describe('JMAP over WebSocket (RFC 8887)', () => {
  test('the session advertises urn:ietf:params:jmap:websocket with a ws:// url and supportsPush', async () => {
    const res = await fetch(`${t.base}/.well-known/jmap`, { headers: { authorization: t.bob.auth } });
    const session = (await res.json()) as {
      capabilities: Record<string, { url: string; supportsPush: boolean }>;
    };
    assert.deepEqual(session.capabilities['urn:ietf:params:jmap:websocket'], {
      url: `ws://127.0.0.1:${port}/jmap/ws`,
      supportsPush: true,
    });
  });

  test('handshake: 101 with the jmap subprotocol; a Request gets a Response with its requestId', async () => {
    const ws = await bobWs();
    try {
      assert.match(ws.head, /^Sec-WebSocket-Protocol: jmap$/im);
      ws.sendJson({
        '@type': 'Request',
        id: 'r1',
        using: USING,
        methodCalls: [['Core/echo', { a: 1 }, 'c1']],
      });
      const response = await ws.nextJson();
      assert.equal(response['@type'], 'Response');
      assert.equal(response.requestId, 'r1');
      assert.deepEqual(response.methodResponses, [['Core/echo', { a: 1 }, 'c1']]);
      assert.equal(typeof response.sessionState, 'string');
      // Several in a row are answered in order.
      for (const id of ['r2', 'r3']) {
        ws.sendJson({
          '@type': 'Request',
          id,
          using: USING,
          methodCalls: [['Mailbox/get', { accountId: t.bob.id, ids: null, properties: ['name'] }, 'm']],
        });
      }
      assert.equal((await ws.nextJson()).requestId, 'r2');
      const r3 = await ws.nextJson();
      assert.equal(r3.requestId, 'r3');
      assert.equal((r3.methodResponses as [string][])[0]![0], 'Mailbox/get');
    } finally {
      ws.close();
    }
  });

  test('RequestError for bad messages; the connection stays open', async () => {
    const ws = await bobWs();
    try {
      ws.sendText('{not json');
      const notJson = await ws.nextJson();
      assert.equal(notJson['@type'], 'RequestError');
      assert.equal(notJson.type, 'urn:ietf:params:jmap:error:notJSON');
      ws.sendJson({ '@type': 'Request', id: 'x', using: ['urn:example:nope'], methodCalls: [] });
      const unknown = await ws.nextJson();
      assert.equal(unknown.requestId, 'x');
      assert.equal(unknown.type, 'urn:ietf:params:jmap:error:unknownCapability');
      ws.sendJson({ '@type': 'Bogus', id: 'y' });
      assert.equal((await ws.nextJson()).type, 'urn:ietf:params:jmap:error:notRequest');
      ws.sendJson({ '@type': 'Request', id: 'z', using: USING, methodCalls: [['Core/echo', {}, 'e']] });
      assert.equal((await ws.nextJson()).requestId, 'z');
    } finally {
      ws.close();
    }
  });

  test('auth as the API: none 401, a Bearer token 101, a wrong one 401; the subprotocol is required', async () => {
    const none = await openWs(port, '/jmap/ws', {});
    assert.equal(none.status, 401);
    assert.match(none.head, /WWW-Authenticate: Basic/i);
    const { token, hash } = newApiToken();
    t.server.store.tokens.create('bob@example.test', 'ws', hash);
    const bearer = await openWs(port, '/jmap/ws', { Authorization: `Bearer ${token}` });
    assert.equal(bearer.status, 101);
    bearer.close();
    const wrong = await openWs(
      port,
      '/jmap/ws',
      { Authorization: `Bearer ${newApiToken().token}` },
      { localAddress: '127.0.0.9' },
    );
    assert.equal(wrong.status, 401);
    const noProtocol = await openWs(port, '/jmap/ws', { Authorization: t.bob.auth }, { protocol: null });
    assert.equal(noProtocol.status, 400);
    const elsewhere = await openWs(port, '/jmap/api', { Authorization: t.bob.auth });
    assert.equal(elsewhere.status, 404);
    // A plain GET (no Upgrade) is told to upgrade.
    const plain = await fetch(`${t.base}/jmap/ws`, { headers: { authorization: t.bob.auth } });
    assert.equal(plain.status, 426);
  });

  test('the web cookie works from our own origin only (cross-site WebSocket hijacking)', async () => {
    const signin = await fetch(`${t.base}/web/signin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: t.base },
      body: JSON.stringify({ email: 'bob@example.test', password: 'bob secret' }),
    });
    assert.equal(signin.status, 200);
    const cookie = signin.headers.get('set-cookie')!.split(';')[0]!;
    const evil = await openWs(port, '/jmap/ws', { Cookie: cookie, Origin: 'https://evil.example' });
    assert.equal(evil.status, 403);
    const own = await openWs(port, '/jmap/ws', { Cookie: cookie, Origin: t.base });
    assert.equal(own.status, 101);
    own.close();
  });

  test('push: StateChange with pushState within 1 s of a change; a pushState given back gets what was missed', async () => {
    const ws = await bobWs();
    let pushState: string;
    try {
      ws.sendJson({ '@type': 'WebSocketPushEnable', dataTypes: ['Email', 'Mailbox'] });
      // Push is on once a request after it is answered (messages are handled in order).
      ws.sendJson({ '@type': 'Request', id: 'sync', using: USING, methodCalls: [['Core/echo', {}, 'e']] });
      await nextOfType(ws, 'Response');
      const t0 = Date.now();
      await t.append(t.bob.storeId, 'INBOX', 'Subject: pushed\r\n\r\nhi\r\n');
      const change = await nextOfType(ws, 'StateChange', 1000);
      assert.ok(Date.now() - t0 < 1000);
      const changed = (change.changed as Record<string, Record<string, string>>)[t.bob.id]!;
      assert.deepEqual(Object.keys(changed).sort(), ['Email', 'Mailbox']);
      assert.equal(changed.Email, t.server.store.jmap.states(t.bob.storeId).Email);
      pushState = change.pushState as string;
      assert.equal(typeof pushState, 'string');
      // Disabled: no more pushes.
      ws.sendJson({ '@type': 'WebSocketPushDisable' });
      ws.sendJson({ '@type': 'Request', id: 'sync2', using: USING, methodCalls: [['Core/echo', {}, 'e']] });
      await nextOfType(ws, 'Response');
      await t.append(t.bob.storeId, 'INBOX', 'Subject: unseen\r\n\r\nhi\r\n');
      await assert.rejects(nextOfType(ws, 'StateChange', 300));
    } finally {
      ws.close();
    }
    // Reconnecting with the last pushState: the Email change made while away comes at once.
    const again = await bobWs();
    try {
      again.sendJson({ '@type': 'WebSocketPushEnable', dataTypes: null, pushState });
      const missed = await nextOfType(again, 'StateChange', 1000);
      const changed = (missed.changed as Record<string, Record<string, string>>)[t.bob.id]!;
      assert.equal(changed.Email, t.server.store.jmap.states(t.bob.storeId).Email);
      assert.ok(!('Identity' in changed), 'only what changed since the pushState');
    } finally {
      again.close();
    }
  });

  test('ping is answered with pong; a Close is answered with a Close; protocol errors close with their code', async () => {
    const ws = await bobWs();
    ws.sendFrame(OPCODE.ping, 'are you there');
    const pong = await ws.next();
    assert.equal(pong.kind, 'pong');
    assert.equal(pong.kind === 'pong' && pong.data.toString(), 'are you there');
    ws.sendFrame(OPCODE.close, Buffer.from([0x03, 0xe8]));
    const close = await ws.next();
    assert.deepEqual(close, { kind: 'close', code: 1000, reason: '' });
    assert.equal((await ws.next()).kind, 'end');

    const unmasked = await bobWs();
    unmasked.sendRaw(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    const refused = await unmasked.next();
    assert.equal(refused.kind === 'close' && refused.code, CLOSE_CODE.protocolError);

    const binary = await bobWs();
    binary.sendFrame(OPCODE.binary, Buffer.from('{}'));
    const b = await binary.next();
    assert.equal(b.kind === 'close' && b.code, CLOSE_CODE.unsupportedData);

    // A message over maxSizeRequest is refused from its header (nothing of it need be sent).
    const huge = await bobWs();
    huge.sendRaw(Buffer.from([0x81, 0xff, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
    const h = await huge.next();
    assert.equal(h.kind === 'close' && h.code, CLOSE_CODE.messageTooBig);
  });

  test('other upgrades (h2c) are served as plain requests, body and all, as before WebSocket listened', async () => {
    const body = JSON.stringify({ using: USING, methodCalls: [['Core/echo', { h2c: true }, 'c']] });
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write(
        'POST /jmap/api HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings, close\r\n' +
          'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n' +
          `Authorization: ${t.bob.auth}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n` +
          body,
      );
    });
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.match(raw, /"methodResponses":\[\["Core\/echo",\{"h2c":true\},"c"\]\]/);
  });

  test('shutdown: open connections get a Close 1001', async () => {
    const ws = await bobWs();
    const closing = t.server.shutdown();
    const event = await ws.next();
    assert.equal(event.kind === 'close' && event.code, CLOSE_CODE.goingAway);
    await closing;
    ws.close();
  });
});

describe('JMAP over WebSocket: connection limits', () => {
  test('WebSocket connections count against max_connections_per_ip like any HTTP connection', async () => {
    const limited = await startJmapServer('[limits]\nmax_connections_per_ip = 2', []);
    const p = limited.server.addresses.http![0]!.port;
    const open: WsTestClient[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const ws = await openWs(p, '/jmap/ws', { Authorization: limited.bob.auth });
        assert.equal(ws.status, 101);
        open.push(ws);
      }
      const third = await openWs(p, '/jmap/ws', { Authorization: limited.bob.auth });
      assert.equal(third.status, 503);
      // Another loopback address is another client.
      const elsewhere = await openWs(
        p,
        '/jmap/ws',
        { Authorization: limited.bob.auth },
        { localAddress: '127.0.0.5' },
      );
      assert.equal(elsewhere.status, 101);
      open.push(elsewhere);
    } finally {
      for (const ws of open) ws.close();
      await limited.close();
    }
  });
});
