// NOTIFY's arguments (RFC 5465 8): the RFC's own examples first, then invalid and hostile rows.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ImapCommandReceiver } from '../../../../src/imap/proto/literal-receiver.js';
import { isParseError, parseImapCommand } from '../../../../src/imap/proto/command-parser.js';
import type { ImapCommand, ImapParseError } from '../../../../src/imap/proto/command-types.js';

function parse(text: string): ImapCommand | ImapParseError {
  const r = new ImapCommandReceiver();
  r.push(Buffer.from(text + '\r\n', 'utf8'));
  for (let ev = r.next(); ev; ev = r.next()) {
    if (ev.kind === 'command') return parseImapCommand(ev.command);
    if (ev.kind === 'reject') return { kind: 'parse-error', tag: ev.tag, text: ev.text };
  }
  throw new Error('no command');
}

type Notify = ImapCommand & { name: 'NOTIFY' };

function ok(text: string): Notify {
  const r = parse(text);
  if (isParseError(r)) assert.fail(`${text}: ${r.text}`);
  assert.equal(r.name, 'NOTIFY');
  return r as Notify;
}

/** The groups in a compact form: filter kind (names), events, fetch item types, unknown events. */
function groups(c: Notify): unknown {
  assert.ok(c.set);
  return c.set.groups.map((g) => [
    g.filter.kind === 'selected' ? (g.filter.delayed ? 'selected-delayed' : 'selected') : g.filter.kind,
    'names' in g.filter ? g.filter.names : null,
    [...g.events],
    g.fetch?.map((f) => f.type) ?? null,
    g.unknown,
  ]);
}

describe('RFC 5465 examples', () => {
  test('3.1: set status (selected MessageNew (fetch-atts) MessageExpunge) (subtree Lists MessageNew)', () => {
    // As in the RFC's example, except that RFC 5465 8 makes the events a parenthesised list.
    const c = ok(
      'b notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew))',
    );
    assert.equal(c.set?.status, true);
    assert.deepEqual(groups(c), [
      ['selected', null, ['MessageNew', 'MessageExpunge'], ['UID', 'BODY[]'], []],
      ['subtree', ['Lists'], ['MessageNew'], null, []],
    ]);
  });
  test('3.1: e notify set without STATUS, three groups', () => {
    const c = ok(
      'e notify set (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew)) (mailboxes misc (MessageNew))',
    );
    assert.equal(c.set?.status, false);
    assert.deepEqual(
      (groups(c) as unknown[][]).map((g) => g[0]),
      ['selected', 'subtree', 'mailboxes'],
    );
  });
  test('6: a notify set (mailboxes INBOX (Messagenew messageExpunge)) (personal (SubscriptionChange))', () => {
    const c = ok(
      'a notify set (mailboxes INBOX (Messagenew messageExpunge)) (personal (SubscriptionChange))',
    );
    assert.deepEqual(groups(c), [
      ['mailboxes', ['INBOX'], ['MessageNew', 'MessageExpunge'], null, []],
      ['personal', null, ['SubscriptionChange'], null, []],
    ]);
  });
  test('6: selected (Messagenew (uid flags) messageExpunge) and personal (MessageNew FlagChange MessageExpunge)', () => {
    const c = ok(
      'a notify set (selected (Messagenew (uid flags) messageExpunge)) (personal (MessageNew FlagChange MessageExpunge))',
    );
    assert.deepEqual(groups(c), [
      ['selected', null, ['MessageNew', 'MessageExpunge'], ['UID', 'FLAGS'], []],
      ['personal', null, ['MessageNew', 'FlagChange', 'MessageExpunge'], null, []],
    ]);
  });
  test('8: NOTIFY NONE; every filter; NONE as events; a list of names; unknown events kept for BADEVENT', () => {
    assert.equal(ok('a NOTIFY NONE').set, null);
    const c = ok(
      'a NOTIFY SET (selected-delayed NONE) (inboxes (MailboxName)) (subscribed (SubscriptionChange)) (subtree (a "b c" {1+}\r\nd) (MessageNew)) (mailboxes x (AnnotationChange X-Future))',
    );
    assert.deepEqual(groups(c), [
      ['selected-delayed', null, [], null, []],
      ['inboxes', null, ['MailboxName'], null, []],
      ['subscribed', null, ['SubscriptionChange'], null, []],
      ['subtree', ['a', 'b c', 'd'], ['MessageNew'], null, []],
      ['mailboxes', ['x'], ['AnnotationChange'], null, ['X-FUTURE']],
    ]);
  });
});

describe('invalid and hostile NOTIFY commands are BAD', () => {
  for (const line of [
    'a NOTIFY',
    'a NOTIFY SET',
    'a NOTIFY SET STATUS',
    'a NOTIFY NONE extra',
    'a NOTIFY MAYBE',
    'a NOTIFY SET personal (MessageNew)', // the group is not parenthesised
    'a NOTIFY SET (personal)',
    'a NOTIFY SET (personal ())',
    'a NOTIFY SET (personal MessageNew)',
    'a NOTIFY SET (personal (MessageNew) extra)',
    'a NOTIFY SET (elsewhere (MessageNew))',
    'a NOTIFY SET (subtree (MessageNew))', // the name is missing
    'a NOTIFY SET (mailboxes () (MessageNew))',
    'a NOTIFY SET (selected (MessageNew)) (selected-delayed (MessageExpunge))', // 6.1: only one
    'a NOTIFY SET (selected (MailboxName))', // 6.1: message events only
    'a NOTIFY SET (selected (SubscriptionChange))',
    'a NOTIFY SET (personal (MessageNew (UID)))', // 8: fetch-atts only with SELECTED
    'a NOTIFY SET (selected (MessageNew ()))',
    'a NOTIFY SET (selected (MessageNew (NOSUCHATT)))',
    'a NOTIFY SET (personal ("MessageNew"))',
    'a NOTIFY SET (personal (Message\x00New))',
    `a NOTIFY SET (subtree ${'('.repeat(40)}x${')'.repeat(40)} (MessageNew))`,
  ]) {
    test(JSON.stringify(line.slice(0, 80)), () => {
      const r = parse(line);
      assert.ok(isParseError(r), `parsed: ${JSON.stringify(r).slice(0, 200)}`);
    });
  }
  test('a huge list of names parses (the handler bounds it: NO [LIMIT])', () => {
    const names = Array.from({ length: 5000 }, (_, i) => `m${i}`).join(' ');
    const c = ok(`a NOTIFY SET (mailboxes (${names}) (MessageNew MessageExpunge))`);
    assert.equal((c.set?.groups[0]?.filter as { names: string[] }).names.length, 5000);
  });
});
