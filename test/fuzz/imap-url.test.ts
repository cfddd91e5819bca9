// Fuzz: the IMAP URL parser (RFC 5092) only ever answers a URL or ImapSyntaxError, and what it formats parses back the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatImapUrl, parseImapUrl, type ImapUrl } from '../../src/imap/proto/imap-url.js';
import { ImapSyntaxError } from '../../src/imap/proto/types.js';

const base = parseImapUrl('imap://bob@h/INBOX;UIDVALIDITY=7/;UID=3/;SECTION=1');

/** Pieces URLs are made of, so random strings get past the scheme often. */
const piece = fc.constantFrom(
  'imap://',
  '//',
  '/',
  ';UID=',
  ';uidvalidity=',
  ';SECTION=',
  ';PARTIAL=',
  ';EXPIRE=2026-01-01T00:00:00Z',
  ';URLAUTH=',
  'submit+',
  'user+bob',
  'authuser',
  ':INTERNAL:',
  '0123456789abcdef0123456789abcdef',
  '%',
  '%E6%97%A5',
  '%00',
  '&',
  '&Jjo-',
  '?',
  '@',
  ';AUTH=*',
  'INBOX',
  '1',
  '0',
  '.',
  '4294967296',
  'HEADER.FIELDS%20(TO)',
  '[::1]',
  ':143',
);
const urlText = fc.oneof(
  fc.array(piece, { maxLength: 14 }).map((a) => a.join('')),
  fc.string({ maxLength: 60 }),
);

test('random URLs: a result or ImapSyntaxError, absolute and relative', () => {
  fc.assert(
    fc.property(urlText, (text) => {
      for (const options of [{}, { base }]) {
        try {
          parseImapUrl(text, options);
        } catch (err) {
          if (!(err instanceof ImapSyntaxError)) throw err;
        }
      }
    }),
    { numRuns: 3000 },
  );
});

test('formatImapUrl output parses back to the same URL', () => {
  fc.assert(
    fc.property(urlText, (text) => {
      let u: ImapUrl;
      try {
        u = parseImapUrl(text);
      } catch {
        return;
      }
      if (u.mailbox === null || u.host === '') return;
      const again = parseImapUrl(formatImapUrl(u));
      assert.deepEqual({ ...again, urlauth: null }, { ...u, urlauth: null });
    }),
    { numRuns: 3000 },
  );
});
