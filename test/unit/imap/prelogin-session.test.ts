// Tests for ImapSession.admitLiteral (issue 8): the allowed-commands table decides before any literal is invited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImapServices } from '../../../src/imap/commands/context.js';
import type { SelectedView } from '../../../src/imap/selected-view.js';
import { ImapSession } from '../../../src/imap/session.js';
import type { Account } from '../../../src/store/store.js';

function session(): ImapSession {
  // admitLiteral reads only the session state: no service is ever called.
  const services = {} as ImapServices;
  return new ImapSession(
    services,
    {
      hostname: 'mx.example.test',
      tlsAvailable: false,
      allowLoopbackPlaintext: true,
      maxAppendSize: 1 << 20,
    },
    { remoteAddress: '127.0.0.1', secure: false, loopback: true },
  );
}

const account = { id: 1, address: 'bob@example.test' } as Account;

test('before login only LOGIN, AUTHENTICATE and the any-state commands may have literals read', () => {
  const s = session();
  assert.equal(s.admitLiteral('LOGIN', '{5}'), null);
  assert.equal(s.admitLiteral('AUTHENTICATE', 'PLAIN'), null);
  assert.equal(s.admitLiteral('ID', '({4}'), null);
  assert.equal(s.admitLiteral('APPEND', 'INBOX'), 'APPEND is not allowed before login');
  assert.equal(s.admitLiteral('SELECT', '{5}'), 'SELECT is not allowed before login');
  assert.equal(s.admitLiteral('UID', 'FETCH'), 'UID is not allowed before login');
  assert.equal(s.admitLiteral('XYZZY', ''), 'Unknown command "XYZZY"');
});

test('after login APPEND is admitted; unknown and wrong-state commands are not', () => {
  const s = session();
  s.data.state = { kind: 'authenticated', account };
  assert.equal(s.admitLiteral('APPEND', 'INBOX'), null);
  assert.equal(s.admitLiteral('LOGIN', '{5}'), 'LOGIN is not allowed without a selected mailbox');
  assert.equal(s.admitLiteral('UID', 'COPY'), 'UID is not allowed without a selected mailbox');
  assert.equal(s.admitLiteral('UID', 'XYZZY'), 'Unknown command "UID"');
  assert.equal(s.admitLiteral('XYZZY', ''), 'Unknown command "XYZZY"');
  s.data.state = { kind: 'selected', account, view: {} as SelectedView };
  assert.equal(s.admitLiteral('UID', 'COPY'), null);
  assert.equal(s.admitLiteral('SEARCH', 'CHARSET'), null);
  s.data.state = { kind: 'logout' };
  assert.equal(s.admitLiteral('NOOP', ''), 'NOOP is not allowed after logout');
});
