// The DKIM-Signature field built once (sender-auth/dkim-signature-header.ts) is byte for byte what mailauth's own formatting and relaxed.js give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  foldedSignatureField,
  relaxedSignatureField,
  signingFieldsOf,
  tagsBeforeB,
  type SignatureTags,
} from '../../../src/sender-auth/dkim-signature-header.js';
import {
  fastRelaxedLine,
  type ParsedHeader,
  type RelaxedLineFormatter,
} from '../../../src/inbound/dkim-headers.js';

const require = createRequire(import.meta.url);
// mailauth's internals (CommonJS, untyped): the functions the signer used to call, as 4.13 exports them.
const tools = require('mailauth/lib/tools.js') as {
  formatSignatureHeaderLine(type: 'DKIM', values: Record<string, string | number>, folded: boolean): string;
  getSigningHeaderLines(parsed: ParsedHeader[], names: string): { keys: string; headers: ParsedHeader[] };
  formatRelaxedLine: RelaxedLineFormatter;
};
const { relaxedHeaders } = require('mailauth/lib/dkim/header/relaxed.js') as {
  relaxedHeaders(
    type: 'DKIM',
    lines: { keys: string; headers: ParsedHeader[] },
    options: Record<string, string | number | Date>,
  ): { canonicalizedHeader: Buffer };
};

let seed = 20261206;
const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
const NAMES = [
  'From',
  'To',
  'cc',
  'SUBJECT',
  'Date',
  'Message-ID',
  'Reply-To',
  'MIME-Version',
  'Content-Type',
  'List-Id',
];
const word = (n: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-') =>
  Array.from({ length: 1 + Math.floor(next() * n) }, () => pick([...alphabet])).join('');
const base64 = (bytes: number) =>
  Buffer.from(Array.from({ length: bytes }, () => Math.floor(next() * 256))).toString('base64');

function randomTags(): SignatureTags {
  const labels = Array.from({ length: 1 + Math.floor(next() * 4) }, () => word(next() < 0.2 ? 40 : 12));
  if (next() < 0.15) labels[0] = `bücher${word(3)}`; // a U-label: punycode'd by both
  return {
    a: pick(['rsa-sha256', 'ed25519-sha256']),
    c: 'relaxed/relaxed',
    d: labels.join('.'),
    h: Array.from({ length: Math.floor(next() * 30) }, () => pick(NAMES)).join(': '),
    s: next() < 0.1 ? `sel.${word(70)}` : word(16),
    t: Math.floor(next() * 4e9),
    bh: base64(32),
  };
}

test('the folded field is what mailauth formatSignatureHeaderLine folds, for 2,000 random tag sets', () => {
  for (let i = 0; i < 2000; i++) {
    const tags = randomTags();
    // Now and then a b= tag ending exactly at a 75-character break (no space after the last slice).
    const b =
      i % 50 === 0 ? '' : i % 50 === 1 ? 'A'.repeat(pick([73, 148, 223])) : base64(pick([64, 256, 512]));
    const ours = foldedSignatureField(tagsBeforeB(tags), b);
    const theirs = tools.formatSignatureHeaderLine('DKIM', { ...tags, b }, true);
    assert.equal(ours, theirs, JSON.stringify(tags));
  }
});

test('the hashed header is what mailauth relaxedHeaders hashes, for 1,000 random field sets and tags', () => {
  const relaxedLine = fastRelaxedLine(tools.formatRelaxedLine);
  for (let i = 0; i < 1000; i++) {
    const tags = randomTags();
    const headers: ParsedHeader[] = Array.from({ length: Math.floor(next() * 6) }, () => {
      const name = pick(NAMES);
      const line = Buffer.from(`${name}:${pick([' ', '  ', '\t', ''])}${word(90, 'ab c\t;:=')}`, 'latin1');
      return { key: name.toLowerCase(), casedKey: name, line };
    });
    const ours = Buffer.concat([
      ...headers.map((f) => relaxedLine(f.line, '\r\n')),
      relaxedSignatureField(tagsBeforeB(tags), relaxedLine),
    ]);
    const { canonicalizedHeader } = relaxedHeaders(
      'DKIM',
      { keys: tags.h, headers },
      {
        signingDomain: tags.d,
        selector: tags.s,
        algorithm: tags.a,
        canonicalization: tags.c,
        bodyHash: tags.bh,
        signTime: new Date(tags.t * 1000),
      },
    );
    assert.equal(ours.toString('latin1'), canonicalizedHeader.toString('latin1'), JSON.stringify(tags));
  }
});

test('the signed fields and h= are what mailauth getSigningHeaderLines selects', () => {
  const names = ['From', 'Subject', 'content-type', ' To '];
  const select = signingFieldsOf(names);
  for (let i = 0; i < 500; i++) {
    const parsed: ParsedHeader[] = Array.from({ length: Math.floor(next() * 12) }, () => {
      if (next() < 0.05) return { key: null, casedKey: undefined, line: Buffer.from(':orphan') };
      const name = pick([...NAMES, 'X-Other', 'Received', 'TO', 'subject']);
      return { key: name.toLowerCase(), casedKey: name, line: Buffer.from(`${name}: ${word(20)}`) };
    });
    assert.deepEqual(select(parsed), tools.getSigningHeaderLines(parsed, names.join(':')));
  }
});
