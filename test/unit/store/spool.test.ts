// BodySpool: memory below the threshold, a spool file past it, fsynced on finish, removed on abort.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBodySpool } from '../../../src/store/spool.js';
import { ownerPid } from '../../../src/store/blob-store.js';

/** abort() cleans up in the background (it returns void): poll, so a loaded machine is not a failure. */
async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let waited = 0; !(await check()); waited += 10) {
    assert.ok(waited < 3000, `timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function dir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mailroom-spool-'));
  after(() => rm(d, { recursive: true, force: true }));
  return d;
}

void describe('createBodySpool', () => {
  void test('stays in memory up to and including the threshold, keeping the chunks', async () => {
    const d = await dir();
    const s = createBodySpool(d, 10);
    assert.equal(s.write(Buffer.from('hello')), undefined, 'no promise while in memory');
    assert.equal(s.write(Buffer.from('world')), undefined);
    const body = await s.finish();
    assert.equal(body.kind, 'memory');
    assert.ok(body.kind === 'memory');
    assert.equal(Buffer.concat(body.chunks).toString(), 'helloworld');
    assert.equal(body.size, 10);
    assert.deepEqual(await readdir(d), []);
  });

  void test('spills everything to one file past the threshold, in order, and returns a promise (backpressure)', async () => {
    const d = await dir();
    const s = createBodySpool(d, 8);
    assert.equal(s.write(Buffer.from('abcde')), undefined);
    const p = s.write(Buffer.from('fghij'));
    assert.ok(p instanceof Promise, 'past the threshold the caller must wait');
    await p;
    await s.write(Buffer.from('klm'));
    const body = await s.finish();
    assert.ok(body.kind === 'file');
    assert.equal(body.size, 13);
    assert.equal((await readFile(body.path)).toString(), 'abcdefghijklm');
    const names = await readdir(d);
    assert.equal(names.length, 1);
    assert.equal(ownerPid(names[0] ?? ''), process.pid, 'named by its writer so orphans can be told apart');
  });

  void test('a caller ignoring backpressure still gets its bytes in order', async () => {
    const d = await dir();
    const s = createBodySpool(d, 0);
    const parts = Array.from({ length: 200 }, (_, i) => Buffer.from(`${i},`));
    for (const part of parts) void s.write(part);
    const body = await s.finish();
    assert.ok(body.kind === 'file');
    assert.equal((await readFile(body.path)).toString(), Buffer.concat(parts).toString());
  });

  void test('empty chunks are ignored; an empty body is an empty memory body', async () => {
    const s = createBodySpool(await dir(), 0);
    assert.equal(s.write(Buffer.alloc(0)), undefined);
    assert.deepEqual(await s.finish(), { kind: 'memory', chunks: [], size: 0 });
  });

  void test('abort removes the spool file, never throws, and may be repeated', async () => {
    const d = await dir();
    const s = createBodySpool(d, 2);
    await s.write(Buffer.from('too long'));
    assert.equal((await readdir(d)).length, 1);
    s.abort();
    s.abort();
    await eventually(async () => (await readdir(d)).length === 0, 'the spool file is gone');
    assert.throws(() => s.write(Buffer.from('x')), /aborted/);
  });

  void test('abort after finish removes the finished file (message refused after DATA)', async () => {
    const d = await dir();
    const s = createBodySpool(d, 2);
    await s.write(Buffer.from('payload'));
    const body = await s.finish();
    assert.ok(body.kind === 'file' && existsSync(body.path));
    s.abort();
    await eventually(() => !existsSync(body.path), 'the finished file is gone');
  });

  void test('write after finish and finish twice are programming errors', async () => {
    const s = createBodySpool(await dir(), 100);
    await s.finish();
    assert.throws(() => s.write(Buffer.from('x')), /finished/);
    await assert.rejects(s.finish(), /finished/);
  });

  void test('a disk error rejects the write and the finish, and abort still does not throw', async () => {
    const s = createBodySpool(join(await dir(), 'missing-subdir'), 1);
    await assert.rejects(Promise.resolve(s.write(Buffer.from('abc'))), { code: 'ENOENT' });
    await assert.rejects(Promise.resolve(s.write(Buffer.from('more'))), { code: 'ENOENT' });
    await assert.rejects(s.finish(), { code: 'ENOENT' });
    s.abort();
  });

  void test('rejects a nonsense threshold', () => {
    assert.throws(() => createBodySpool('/tmp', -1), RangeError);
    assert.throws(() => createBodySpool('/tmp', Number.NaN), RangeError);
  });
});
