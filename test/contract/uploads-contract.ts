// The UploadStore contract (JMAP uploads, RFC 8620 6): owned by one account, inline and file bodies, copy, expiry, account removal.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MailroomError } from '../../src/errors.js';
import type { OpenedMessage } from '../../src/store/mail-store.js';
import type { StoreHarness } from './store-contract.js';

const T0 = new Date('2026-11-23T10:00:00Z');

async function readAll(opened: OpenedMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of opened.chunks) chunks.push(c);
  return Buffer.concat(chunks);
}

export function runUploadsContract(backend: string, harness: StoreHarness): void {
  void describe(`UploadStore contract: ${backend}`, () => {
    after(() => harness.cleanup());

    async function accounts() {
      const dir = await harness.newLocation();
      let now = T0;
      const store = await harness.open(dir, () => now);
      after(() => store.close());
      store.addDomain('example.test');
      const bob = store.addAccount('bob@example.test', 'h').id;
      const eve = store.addAccount('eve@example.test', 'h').id;
      return { store, bob, eve, dir, setNow: (d: Date) => (now = d) };
    }

    void test('small (inline) and large (file) uploads read back byte for byte, only by their owner', async () => {
      const { store, bob, eve } = await accounts();
      const small = Buffer.from('hello\r\n\x00\xff');
      const large = Buffer.alloc(harness.largeBodyBytes * 3, 'z');
      for (const bytes of [small, large]) {
        const blob = await store.uploads.create(
          bob,
          { kind: 'memory', chunks: [bytes], size: bytes.length },
          'image/png',
        );
        assert.deepEqual(
          { accountId: blob.accountId, size: blob.size, type: blob.type, createdAt: blob.createdAt },
          { accountId: bob, size: bytes.length, type: 'image/png', createdAt: T0 },
        );
        assert.deepEqual(store.uploads.get(bob, blob.id), blob);
        assert.deepEqual(await readAll(await store.uploads.open(bob, blob.id)), bytes);
        // Another account: the same id reads as absent.
        assert.equal(store.uploads.get(eve, blob.id), null);
        await assert.rejects(
          store.uploads.open(eve, blob.id),
          (e) => e instanceof MailroomError && e.code === 'NO_SUCH_BLOB',
        );
        assert.equal(store.uploads.copy(eve, eve, blob.id), null);
      }
    });

    void test('copy shares the bytes under the new owner; expiry removes old uploads and, once unused, their files', async () => {
      const { store, bob, eve, dir, setNow } = await accounts();
      const large = Buffer.alloc(harness.largeBodyBytes * 2, 'q');
      const blob = await store.uploads.create(
        bob,
        { kind: 'memory', chunks: [large], size: large.length },
        'text/plain',
      );
      const blobFiles = () => readdirSync(join(dir, 'blobs')).length;
      const filesBefore = blobFiles();
      setNow(new Date(T0.getTime() + 60_000));
      const copy = store.uploads.copy(bob, eve, blob.id)!;
      assert.equal(copy.accountId, eve);
      assert.deepEqual(await readAll(await store.uploads.open(eve, copy.id)), large);
      assert.equal(blobFiles(), filesBefore); // shared, not copied
      // Only the first upload is old enough: the bytes stay for the copy.
      assert.equal(await store.uploads.expire(new Date(T0.getTime() + 1)), 1);
      assert.equal(store.uploads.get(bob, blob.id), null);
      assert.deepEqual(await readAll(await store.uploads.open(eve, copy.id)), large);
      assert.equal(blobFiles(), filesBefore);
      assert.equal(await store.uploads.expire(new Date(T0.getTime() + 120_000)), 1);
      assert.equal(blobFiles(), filesBefore - 1);
    });

    void test('removing an account removes its uploads and their files; a file body is adopted, not copied', async () => {
      const { store, bob, dir } = await accounts();
      const spool = join(store.spoolDir, `${process.pid}-0-ab.tmp`);
      writeFileSync(spool, Buffer.alloc(harness.largeBodyBytes * 2, 'f'));
      const blob = await store.uploads.create(
        bob,
        { kind: 'file', path: spool, size: harness.largeBodyBytes * 2 },
        'application/zip',
      );
      assert.equal(existsSync(spool), false);
      assert.equal(store.uploads.get(bob, blob.id)?.size, harness.largeBodyBytes * 2);
      const before = readdirSync(join(dir, 'blobs')).length;
      store.removeAccount('bob@example.test');
      await new Promise((r) => setTimeout(r, 50)); // file removal is after the commit, best effort
      assert.equal(readdirSync(join(dir, 'blobs')).length, before - 1);
      await assert.rejects(
        store.uploads.create(bob, { kind: 'memory', chunks: [Buffer.from('x')], size: 1 }, 'text/plain'),
        (e) => e instanceof MailroomError && e.code === 'NO_SUCH_ACCOUNT',
      );
    });
  });
}
