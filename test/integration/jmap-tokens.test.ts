// API tokens over real HTTP: Bearer on the session, API, upload, download and EventSource; revoked and removed at once; wrong ones slowed.
import { after, before, describe, test } from 'node:test';
import { request } from 'node:http';
import assert from 'node:assert/strict';
import { newApiToken } from '../../src/auth/api-token.js';
import { hashPassword } from '../../src/auth/password-hash.js';
import { startJmapServer, USING, type JmapTestServer } from '../helpers/jmap-server.js';

let t: JmapTestServer;
before(async () => {
  t = await startJmapServer('', []);
});
after(async () => {
  await t.close();
});

function tokenFor(address: string): { id: number; bearer: string } {
  const { token, hash } = newApiToken();
  const made = t.server.store.tokens.create(address, 'test', hash);
  return { id: made.id, bearer: `Bearer ${token}` };
}

/**
 * Core/echo with `auth` from the loopback address `from`: each test fails from its own source address,
 * so the failure delays one test earns (per IP) do not slow the next.
 */
function echo(auth: string, from = '127.0.0.1'): Promise<{ status: number; challenge: string }> {
  const body = JSON.stringify({ using: USING, methodCalls: [['Core/echo', { hello: 1 }, '0']] });
  return new Promise((resolve, reject) => {
    const req = request(
      `${t.base}/jmap/api`,
      {
        method: 'POST',
        localAddress: from,
        agent: false,
        headers: { authorization: auth, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, challenge: String(res.headers['www-authenticate'] ?? '') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('API tokens (Bearer)', () => {
  test('session, API call, upload, download and EventSource accept a token', async () => {
    const { bearer } = tokenFor('bob@example.test');
    const session = await fetch(`${t.base}/.well-known/jmap`, { headers: { authorization: bearer } });
    assert.equal(session.status, 200);
    assert.equal(((await session.json()) as { username: string }).username, 'bob@example.test');
    assert.equal((await echo(bearer)).status, 200);
    const up = await fetch(`${t.base}/jmap/upload/${t.bob.id}/`, {
      method: 'POST',
      headers: { authorization: bearer, 'content-type': 'text/plain' },
      body: 'token upload',
    });
    assert.equal(up.status, 201);
    const { blobId } = (await up.json()) as { blobId: string };
    const down = await fetch(`${t.base}/jmap/download/${t.bob.id}/${blobId}/a.txt`, {
      headers: { authorization: bearer },
    });
    assert.equal(down.status, 200);
    assert.equal(await down.text(), 'token upload');
    const controller = new AbortController();
    const stream = await fetch(`${t.base}/jmap/eventsource/?types=*&closeafter=no&ping=0`, {
      headers: { authorization: bearer },
      signal: controller.signal,
    });
    assert.equal(stream.status, 200);
    controller.abort();
    // Another account's data stays out of reach with bob's token.
    const other = await fetch(`${t.base}/jmap/download/${t.carol.id}/${blobId}/a.txt`, {
      headers: { authorization: bearer },
    });
    assert.equal(other.status, 404);
  });

  test('a revoked token fails at once: 401 with the Bearer challenge', async () => {
    const { id, bearer } = tokenFor('bob@example.test');
    assert.equal((await echo(bearer, '127.0.0.2')).status, 200);
    t.server.store.tokens.revoke(id);
    const res = await echo(bearer, '127.0.0.2');
    assert.equal(res.status, 401);
    assert.match(res.challenge, /^Bearer realm="mailroom", error="invalid_token"/);
  });

  test('tokens end with their account: removing the account removes them', async () => {
    t.server.store.addAccount(
      'dave@example.test',
      await hashPassword('dave secret', { params: { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 } }),
    );
    const { bearer } = tokenFor('dave@example.test');
    assert.equal((await echo(bearer, '127.0.0.3')).status, 200);
    t.server.store.removeAccount('dave@example.test');
    assert.equal((await echo(bearer, '127.0.0.3')).status, 401);
    assert.ok(!t.server.store.tokens.list().some((x) => x.address === 'dave@example.test'));
  });

  test('a wrong token is slowed like a wrong password (the next attempt from the IP waits)', async () => {
    const wrong = `Bearer ${newApiToken().token}`;
    assert.equal((await echo(wrong, '127.0.0.4')).status, 401);
    const t0 = Date.now();
    assert.equal((await echo(wrong, '127.0.0.4')).status, 401);
    assert.ok(Date.now() - t0 >= 800, `second failure answered after ${Date.now() - t0} ms`);
  });
});
