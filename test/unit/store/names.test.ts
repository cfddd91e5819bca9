// Normalisation of domains, addresses, alias sources and mailbox names: RFC rows first, then hostile rows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MailroomError } from '../../../src/errors.js';
import {
  normalizeDomain,
  normalizeMailboxName,
  parseAddress,
  parseAliasSource,
} from '../../../src/store/sqlite/names.js';

const fails = (code: string) => (e: unknown) => e instanceof MailroomError && e.code === code;

void describe('parseAddress', () => {
  const ok: [string, string][] = [
    ['Postmaster@Example.TEST', 'postmaster@example.test'], // RFC 5321 4.5.1: postmaster is case-insensitive
    ['smith@bar.com', 'smith@bar.com'], // RFC 5321 D.1
    ['alice+tag@example.test', 'alice+tag@example.test'], // subaddress kept whole; routing strips it
    ['first.last@sub.example.test.', 'first.last@sub.example.test'], // absolute domain
    ['Jörg@Bücher.example', 'jörg@bücher.example'], // RFC 6531 UTF-8 address
    ['a'.repeat(64) + '@example.test', 'a'.repeat(64) + '@example.test'], // RFC 5321 4.5.3.1.1 limit
  ];
  for (const [input, want] of ok) {
    void test(`accepts ${JSON.stringify(input)}`, () => assert.equal(parseAddress(input).address, want));
  }
  void test('the same address in NFD and NFC is one address', () => {
    assert.equal(
      parseAddress('Jo\u0308rg@example.test').address,
      parseAddress('J\u00f6rg@example.test').address,
    );
  });
  const bad = [
    '',
    'no-at-sign',
    '@example.test',
    'bob@',
    'bob@@example.test',
    'a b@example.test',
    'bob@exa mple.test',
    '<bob@example.test>',
    'bob\u0000@example.test',
    'bob\r\n@example.test',
    'bob@example.test\r\nRCPT TO:<x@y>',
    '.bob@example.test',
    'bob.@example.test',
    'b..ob@example.test',
    'a'.repeat(65) + '@example.test',
    'bob@' + 'a.'.repeat(130) + 'test',
    'bob@-example.test',
    '"quoted"@example.test',
  ];
  for (const input of bad) {
    void test(`refuses ${JSON.stringify(input).slice(0, 60)}`, () =>
      assert.throws(() => parseAddress(input), fails('BAD_ADDRESS')));
  }
});

void describe('normalizeDomain', () => {
  void test('lower-cases and drops one trailing dot', () => {
    assert.equal(normalizeDomain('Mail.Example.TEST.'), 'mail.example.test');
  });
  // Issue 8 item 9: one canonical form for an IDN, however it is written (RFC 5890 U-label or A-label).
  const same: [string, string][] = [
    ['bücher.test', 'bücher.test'],
    ['xn--bcher-kva.test', 'bücher.test'],
    ['XN--BCHER-KVA.Test.', 'bücher.test'],
    ['BÜCHER.test', 'bücher.test'],
    ['Foo.Test.', 'foo.test'], // `domain add foo.test.` is foo.test
    ['localhost', 'localhost'],
  ];
  for (const [input, want] of same) {
    void test(`${JSON.stringify(input)} -> ${want}`, () => assert.equal(normalizeDomain(input), want));
  }
  const bad = [
    ...['', '.', 'a..b', 'a.-b', 'x_y z', 'a@b', 'a'.repeat(64) + '.test', '\u0000'],
    // Names that could never receive mail (issue 8 item 9): not LDH in ASCII form, an IP, bad punycode.
    ...[
      'foo_bar.test',
      'ex!ample.test',
      'foo.test..',
      ' foo.test',
      'foo.test ',
      '1.2.3.4',
      '0x7f.1',
      'xn--zz.test',
    ],
  ];
  for (const input of bad) {
    void test(`refuses ${JSON.stringify(input)}`, () =>
      assert.throws(() => normalizeDomain(input), fails('BAD_DOMAIN')));
  }
});

void describe('parseAliasSource', () => {
  void test('an address or @domain (catch-all)', () => {
    assert.deepEqual(parseAliasSource('Team@Example.test'), {
      source: 'team@example.test',
      domain: 'example.test',
    });
    assert.deepEqual(parseAliasSource('@Example.test'), { source: '@example.test', domain: 'example.test' });
    assert.throws(() => parseAliasSource('@'), fails('BAD_DOMAIN'));
  });
});

void describe('normalizeMailboxName', () => {
  void test('INBOX in any case is INBOX (RFC 9051 5.1); others unchanged', () => {
    assert.equal(normalizeMailboxName('inbox'), 'INBOX');
    assert.equal(normalizeMailboxName('InBoX'), 'INBOX');
    assert.equal(normalizeMailboxName('Sent'), 'Sent');
    assert.equal(normalizeMailboxName('INBOX/sub'), 'INBOX/sub');
  });
});
