// The SEARCH header index of a delivered message comes from the header the MIME parser parsed (one parse per message).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildHeaderIndex,
  headerBlock,
  headerIndexOfFieldList,
} from '../../../src/store/sqlite/mail-headers.js';
import { computeStructure, computeStructureJson } from '../../../src/store/sqlite/mail-structure.js';
import { HEADER_PIECES, randomTexts } from '../../helpers/random-text.js';

const HEAD = Buffer.from(
  'Return-Path: <a@b.example>\r\nReceived: from c.example (c.example [192.0.2.7])\r\n\tby mx.foo.com with ESMTP id X; Sun, 6 Dec 2026 00:00:00 +0000\r\n',
);

/** The index the store builds from the parser's fields, or from a second parse when they are withheld. */
async function indexOf(
  head: Buffer,
  body: Buffer,
): Promise<{ index: string; reused: boolean; json: string }> {
  const s = await computeStructure(head, body);
  const reused = s.headerFields !== null;
  return {
    index: reused ? headerIndexOfFieldList(s.headerFields!) : buildHeaderIndex(headerBlock(head, body)),
    reused,
    json: s.json,
  };
}

test('a clean header is parsed once: the index from the MIME parser equals the one parsed from the block', async () => {
  const body = Buffer.from(
    'From: A <a@b.example>\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n  folded\r\nMessage-ID: <1@b>\r\n\r\nhi\r\n',
  );
  const r = await indexOf(HEAD, body);
  assert.equal(r.reused, true);
  assert.equal(r.index, buildHeaderIndex(headerBlock(HEAD, body)));
  assert.equal(r.json, await computeStructureJson(HEAD, body));
  // The same from a file body (a large message): no second read of the file for the index.
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-index-once-'));
  try {
    await writeFile(join(dir, 'b'), body);
    const s = await computeStructure(HEAD, join(dir, 'b'));
    assert.equal(headerIndexOfFieldList(s.headerFields!), r.index);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // Not clean (a junk line, no blank line, an over-long line): withheld, the store parses the block itself.
  for (const odd of [
    'Subject: a\r\njunk line\r\nX: b\r\n\r\nb',
    'Subject: never ends\r\n',
    ' lead\r\nX: y\r\n\r\n',
  ]) {
    assert.equal(
      (await computeStructure(Buffer.alloc(0), Buffer.from(odd))).headerFields,
      null,
      JSON.stringify(odd),
    );
  }
});

test('the reused index is the parsed one: fixtures and random header blocks, with and without a trace head', async () => {
  const dir = join(import.meta.dirname, '../../fixtures/mime');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.eml'));
  assert.ok(names.length > 5);
  let reused = 0;
  for (const name of names) {
    const bytes = await readFile(join(dir, name));
    for (const body of [bytes, Buffer.from(bytes.map((b) => (b > 0x7e ? 0x3f : b)))]) {
      for (const head of [HEAD, Buffer.alloc(0)]) {
        const r = await indexOf(head, body);
        if (r.reused) reused++;
        assert.equal(r.index, buildHeaderIndex(headerBlock(head, body)), name);
      }
    }
  }
  assert.ok(reused > names.length, `reused ${reused}`);
  const pieces = [...HEADER_PIECES, '=?x?b?QQ==?=', '\0', 'é', '\r\n\r\n', '\n\n'];
  for (const [i, text] of randomTexts(pieces, 1500, 5).entries()) {
    const body = Buffer.from(text, 'latin1');
    const head = i % 2 === 0 ? HEAD : Buffer.alloc(0);
    assert.equal(
      (await indexOf(head, body)).index,
      buildHeaderIndex(headerBlock(head, body)),
      JSON.stringify(text),
    );
  }
});
