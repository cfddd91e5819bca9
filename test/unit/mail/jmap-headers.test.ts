// RFC 8621 4.1.2 header forms: Raw, Text, Addresses, GroupedAddresses, MessageIds, Date, URLs, and which field allows which.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  asAddresses,
  asDate,
  asGroupedAddresses,
  asMessageIds,
  asText,
  asURLs,
  headerProperty,
  parseHeaderProperty,
} from '../../../src/mail/jmap-headers.js';
import { parseHeaderBlock } from '../../../src/mail/headers.js';

describe('header forms (RFC 8621 4.1.2)', () => {
  test('Text: unfolded, encoded words decoded, trimmed', () => {
    assert.equal(asText(' =?utf-8?q?Caf=C3=A9?=\r\n time '), 'Café time');
  });

  test('Addresses and GroupedAddresses (the RFC 8621 4.1.2.3 example)', () => {
    const raw =
      ' James Smythe <james@example.com>, Friends:\r\n jane@example.com, =?UTF-8?Q?John_Sm=C3=AEth?=\r\n <john@example.com>;';
    assert.deepEqual(asAddresses(raw), [
      { name: 'James Smythe', email: 'james@example.com' },
      { name: null, email: 'jane@example.com' },
      { name: 'John Smîth', email: 'john@example.com' },
    ]);
    assert.deepEqual(asGroupedAddresses(raw), [
      { name: null, addresses: [{ name: 'James Smythe', email: 'james@example.com' }] },
      {
        name: 'Friends',
        addresses: [
          { name: null, email: 'jane@example.com' },
          { name: 'John Smîth', email: 'john@example.com' },
        ],
      },
    ]);
  });

  test('MessageIds: brackets removed; garbage is null', () => {
    assert.deepEqual(asMessageIds(' <a@b> (comment)\r\n <c@d>'), ['a@b', 'c@d']);
    assert.equal(asMessageIds(' not an id'), null);
    assert.equal(asMessageIds(''), null);
  });

  test('Date keeps the zone offset; garbage is null', () => {
    assert.equal(asDate(' Thu, 30 Oct 2014 14:12:00 +0800'), '2014-10-30T14:12:00+08:00');
    assert.equal(asDate(' Thu, 30 Oct 2014 14:12:00 -0000'), '2014-10-30T14:12:00Z');
    assert.equal(asDate(' yesterday'), null);
  });

  test('URLs of List-* fields', () => {
    assert.deepEqual(
      asURLs(' <mailto:list@host.com?subject=help> (List Instructions),\r\n <https://x.test/h>'),
      ['mailto:list@host.com?subject=help', 'https://x.test/h'],
    );
    assert.equal(asURLs(' NO'), null);
  });

  test('header properties: forms allowed per field, :all, last instance, unknown fields any form', () => {
    assert.deepEqual(parseHeaderProperty('header:From:asAddresses'), {
      key: 'from',
      form: 'Addresses',
      all: false,
    });
    assert.deepEqual(parseHeaderProperty('header:X-Foo:asDate:all'), {
      key: 'x-foo',
      form: 'Date',
      all: true,
    });
    assert.equal(parseHeaderProperty('header:Subject:asAddresses'), null);
    assert.equal(parseHeaderProperty('header:From:asText'), null);
    assert.equal(parseHeaderProperty('header:From:asNothing'), null);
    assert.equal(parseHeaderProperty('header:Bad Name'), null);
    const fields = parseHeaderBlock(Buffer.from('X-A: one\r\nX-A: two\r\n\r\n'));
    assert.equal(headerProperty(fields, parseHeaderProperty('header:x-a')!), ' two');
    assert.deepEqual(headerProperty(fields, parseHeaderProperty('header:X-A:asText:all')!), ['one', 'two']);
    assert.equal(headerProperty(fields, parseHeaderProperty('header:X-B')!), null);
    assert.deepEqual(headerProperty(fields, parseHeaderProperty('header:X-B:all')!), []);
  });
});
