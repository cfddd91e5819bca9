// `mailroom dkim` in process (cli/main.ts): generate prints the record CONTRACT.md shows, list --json, activate, remove, errors.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { signMessage } from '../../../src/sender-auth/dkim-sign.js';
import { mailauthVerdicts, pythonVerify } from '../../helpers/dkim.js';

const dir = mkdtempSync(join(tmpdir(), 'mailroom-dkim-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'mailroom.toml');
writeFileSync(config, 'hostname = "mx.example.test"\ndata_dir = "data"\n');

async function run(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main({
    argv: [...argv, '--config', config],
    cwd: dir,
    env: {},
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    readStdin: async () => '',
  });
  return { status, stdout, stderr };
}

interface Listed {
  domain: string;
  selector: string;
  algorithm: string;
  dns_name: string;
  dns_txt: string;
  active: boolean;
}

const RECORD = /^(\S+)\._domainkey\.(\S+) IN TXT "(v=DKIM1; k=(rsa|ed25519); p=([A-Za-z0-9+/=]+))"$/m;

describe('mailroom dkim', () => {
  test('generate: RSA 2048 by default, selector mrYYYYMM, prints the TXT record; only local domains', async () => {
    assert.equal((await run('domain', 'add', 'example.test')).status, 0);
    const r = await run('dkim', 'generate', 'example.test');
    assert.equal(r.status, 0, r.stderr);
    const m = RECORD.exec(r.stdout);
    assert.ok(m, r.stdout);
    const now = new Date();
    assert.equal(m[1], `mr${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`);
    assert.equal(m[2], 'example.test');
    assert.equal(m[4], 'rsa');
    // 2048-bit modulus: the SubjectPublicKeyInfo is 294 bytes.
    assert.equal(Buffer.from(m[5] ?? '', 'base64').length, 294);
    assert.doesNotMatch(r.stdout, /PRIVATE KEY/, 'the private key is never printed');
    const bad = await run('dkim', 'generate', 'other.test');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^mailroom: domain other\.test is not local\n$/);
    assert.equal((await run('dkim', 'generate', 'example.test', '--algorithm', 'dsa')).status, 2);
    assert.equal((await run('dkim', 'generate', 'example.test', '--selector', 'bad_sel!')).status, 1);
  });

  test('ed25519 (RFC 8463), list --json, activate, remove; the printed record verifies a signature', async () => {
    const r = await run('dkim', 'generate', 'example.test', '--selector', 'Ed1', '--algorithm', 'ed25519');
    assert.equal(r.status, 0, r.stderr);
    const m = RECORD.exec(r.stdout);
    assert.ok(m);
    assert.equal(m[1], 'ed1');
    assert.equal(Buffer.from(m[5] ?? '', 'base64').length, 32, 'the bare Ed25519 key');
    const list = JSON.parse((await run('dkim', 'list', '--json')).stdout) as Listed[];
    assert.deepEqual(Object.keys(list[0] ?? {}), [
      'domain',
      'selector',
      'algorithm',
      'dns_name',
      'dns_txt',
      'active',
    ]);
    assert.deepEqual(
      list.map((k) => [k.selector, k.algorithm, k.active]),
      [
        [list[0]?.selector, 'rsa', false],
        ['ed1', 'ed25519', true],
      ],
      'the newest signs',
    );
    assert.equal(list[1]?.dns_name, 'ed1._domainkey.example.test');
    assert.equal(list[1]?.dns_txt, m[3]);

    // The key the store holds and the record printed belong together: a signature verifies with both verifiers.
    const store = openSqliteStore({ dataDir: join(dir, 'data') });
    const key = store.dkim.signingKey('example.test');
    await store.close();
    assert.ok(key);
    const msg = Buffer.from('From: a@example.test\r\nSubject: x\r\n\r\nbody\r\n');
    const signed = Buffer.concat([Buffer.from((await signMessage(msg, key)).header), msg]);
    const record = { name: list[1]?.dns_name ?? '', txt: list[1]?.dns_txt ?? '' };
    assert.deepEqual(await mailauthVerdicts(signed, { [record.name]: record.txt }), [
      'pass d=example.test s=ed1',
    ]);
    assert.equal(pythonVerify(signed, record), 'pass');

    const rsaSelector = list[0]?.selector ?? '';
    assert.equal((await run('dkim', 'activate', 'example.test', rsaSelector)).status, 0);
    const after = JSON.parse((await run('dkim', 'list', '--json')).stdout) as Listed[];
    assert.deepEqual(
      after.map((k) => k.active),
      [true, false],
    );
    assert.match(
      (await run('dkim', 'list')).stdout,
      new RegExp(`^example\\.test ${rsaSelector} rsa active `, 'm'),
    );
    const missing = await run('dkim', 'remove', 'example.test', 'nope');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no DKIM key nope for example\.test/);
    assert.equal((await run('dkim', 'remove', 'example.test', 'ed1')).status, 0);
    assert.equal((JSON.parse((await run('dkim', 'list', '--json')).stdout) as Listed[]).length, 1);
  });

  test('generate --inactive: stored and printed, but the current key keeps signing until activate', async () => {
    assert.equal((await run('domain', 'add', 'two.test')).status, 0);
    assert.equal(
      (await run('dkim', 'generate', 'two.test', '--selector', 'first', '--algorithm', 'ed25519')).status,
      0,
    );
    const r = await run(
      'dkim',
      'generate',
      'two.test',
      '--selector',
      'next',
      '--algorithm',
      'ed25519',
      '--inactive',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /not signing yet.*mailroom dkim activate two\.test next/);
    const active = async () =>
      (JSON.parse((await run('dkim', 'list', '--json')).stdout) as Listed[])
        .filter((k) => k.domain === 'two.test')
        .map((k) => [k.selector, k.active]);
    assert.deepEqual(await active(), [
      ['first', true],
      ['next', false],
    ]);
    assert.equal((await run('dkim', 'activate', 'two.test', 'next')).status, 0);
    assert.deepEqual(await active(), [
      ['first', false],
      ['next', true],
    ]);
  });
});
