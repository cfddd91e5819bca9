// SRS0/SRS1 rewriting and reversal: round trips, case folding, tampering, expiry, chains, odd local parts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSrsLocalPart, srsForward, srsReverse, type SrsContext } from '../../../src/sender-auth/srs.js';

const DAY = 86_400_000;
const key = Buffer.alloc(32, 7);
const otherKey = Buffer.alloc(32, 9);
const t0 = new Date(Date.UTC(2026, 11, 5, 12));
const at = (date: Date, k: Buffer = key): SrsContext => ({ key: k, now: date });
const later = (days: number) => new Date(t0.getTime() + days * DAY);

/** The local part of an address (before the last '@'). */
const localOf = (address: string) => address.slice(0, address.lastIndexOf('@'));

describe('srsForward', () => {
  test('SRS0 has the form SRS0=HHHHHHHH=TT=domain=local@forwarder', () => {
    const out = srsForward('alice@origin.example', 'Fwd.Example', at(t0));
    assert.match(out, /^SRS0=[A-Z2-7]{8}=[A-Z2-7]{2}=origin\.example=alice@fwd\.example$/);
  });

  test('the null sender stays null', () => {
    assert.equal(srsForward('', 'fwd.example', at(t0)), '');
  });

  test('the same input on the same day gives the same address; another key another hash', () => {
    const a = srsForward('alice@origin.example', 'fwd.example', at(t0));
    assert.equal(srsForward('alice@origin.example', 'fwd.example', at(t0)), a);
    assert.notEqual(srsForward('alice@origin.example', 'fwd.example', at(t0, otherKey)), a);
  });

  test('an SRS0 sender of another forwarder becomes SRS1 pointing at that forwarder', () => {
    const first = srsForward('alice@origin.example', 'first.example', at(t0, otherKey));
    const second = srsForward(first, 'second.example', at(t0));
    const rest = localOf(first).slice(4); // "=HHHH=TT=origin.example=alice"
    assert.match(second, /^SRS1=[A-Z2-7]{8}=first\.example==/);
    assert.ok(second.endsWith(`${rest}@second.example`), second);
  });

  test('an SRS1 sender keeps the first forwarder and is re-hashed under our key', () => {
    const first = srsForward('alice@origin.example', 'first.example', at(t0, otherKey));
    const second = srsForward(first, 'second.example', at(t0, otherKey));
    const third = srsForward(second, 'third.example', at(t0));
    assert.match(third, /^SRS1=[A-Z2-7]{8}=first\.example==/);
    assert.ok(third.endsWith('@third.example'));
    assert.notEqual(localOf(third).split('=')[1], localOf(second).split('=')[1]);
  });
});

describe('srsReverse', () => {
  const rows: { sender: string }[] = [
    { sender: 'alice@origin.example' },
    { sender: 'a=b@origin.example' }, // '=' in the local part: the local part is last, so it survives
    { sender: 'bob+tag@origin.example' },
    { sender: 'x=y+z=w@sub.origin.example' },
    { sender: 'Mixed.Case@Origin.Example' },
  ];
  for (const { sender } of rows) {
    test(`round trip of ${sender}`, () => {
      const srs = srsForward(sender, 'fwd.example', at(t0));
      assert.deepEqual(srsReverse(localOf(srs), at(later(3))), { kind: 'ok', address: sender });
    });
  }

  test('the hash is checked without regard to case (an MTA on the way lower-cased the address)', () => {
    const srs = srsForward('Alice@origin.example', 'fwd.example', at(t0));
    const lowered = localOf(srs).toLowerCase();
    const result = srsReverse(lowered, at(t0));
    assert.equal(result.kind, 'ok');
    assert.equal(result.kind === 'ok' && result.address.toLowerCase(), 'alice@origin.example');
    assert.equal(srsReverse(localOf(srs).toUpperCase(), at(t0)).kind, 'ok');
  });

  test('the separators + and - after SRS0 are accepted (libsrs2)', () => {
    const srs = localOf(srsForward('alice@origin.example', 'fwd.example', at(t0)));
    assert.equal(srsReverse(`SRS0+${srs.slice(5)}`, at(t0)).kind, 'ok');
    assert.equal(srsReverse(`SRS0-${srs.slice(5)}`, at(t0)).kind, 'ok');
  });

  test('tampering with any part is refused (hash)', () => {
    const srs = localOf(srsForward('alice@origin.example', 'fwd.example', at(t0)));
    const [tag, h, tt, domain, local] = srs.split('=') as [string, string, string, string, string];
    const variants = [
      [tag, h, tt, 'evil.example', local],
      [tag, h, tt, domain, 'victim'],
      [tag, h, tt === 'AA' ? 'AB' : 'AA', domain, local],
      [tag, (h[0] === 'A' ? 'B' : 'A') + h.slice(1), tt, domain, local],
      [tag, h.slice(0, 4), tt, domain, local],
    ];
    for (const parts of variants) {
      assert.deepEqual(
        srsReverse(parts.join('='), at(t0)),
        { kind: 'refused', reason: 'hash' },
        parts.join('='),
      );
    }
    // The NUL join: domain "origin.exampl" + local "ealice" does not share the hash.
    assert.equal(srsReverse([tag, h, tt, 'origin.exampl', `e${local}`].join('='), at(t0)).kind, 'refused');
    assert.deepEqual(srsReverse(srs, at(t0, otherKey)), { kind: 'refused', reason: 'hash' });
  });

  test('expiry: valid up to 21 days, refused after; the day counter wraps at 1024', () => {
    const srs = localOf(srsForward('alice@origin.example', 'fwd.example', at(t0)));
    assert.equal(srsReverse(srs, at(later(21))).kind, 'ok');
    assert.deepEqual(srsReverse(srs, at(later(22))), { kind: 'refused', reason: 'expired' });
    assert.equal(srsReverse(srs, at(later(1024 + 2))).kind, 'ok'); // libsrs2 has the same blind spot
    assert.deepEqual(srsReverse(srs, { key, now: later(5), maxAgeDays: 4 }), {
      kind: 'refused',
      reason: 'expired',
    });
    // A timestamp from "tomorrow" (a forged or clock-skewed one) counts as ~1023 days old.
    assert.deepEqual(srsReverse(srs, at(later(-1))), { kind: 'refused', reason: 'expired' });
  });

  test('SRS1 reverses to the first forwarder SRS0 address, which that forwarder then reverses', () => {
    const first = srsForward('alice@origin.example', 'first.example', at(t0, otherKey));
    const second = srsForward(first, 'second.example', at(t0));
    const back = srsReverse(localOf(second), at(later(1)));
    assert.deepEqual(back, { kind: 'ok', address: first });
    assert.deepEqual(srsReverse(localOf(first), at(later(1), otherKey)), {
      kind: 'ok',
      address: 'alice@origin.example',
    });
    // A three-hop chain: the third forwarder reverses straight to the first one.
    const third = srsForward(second, 'third.example', at(t0, Buffer.alloc(32, 1)));
    assert.deepEqual(srsReverse(localOf(third), at(t0, Buffer.alloc(32, 1))), { kind: 'ok', address: first });
    // Tampered SRS1.
    const forged = localOf(second).replace('first.example', 'evil.example');
    assert.deepEqual(srsReverse(forged, at(t0)), { kind: 'refused', reason: 'hash' });
  });

  test('not SRS, and malformed SRS', () => {
    assert.deepEqual(srsReverse('alice', at(t0)), { kind: 'not-srs' });
    assert.deepEqual(srsReverse('SRS2=x=y', at(t0)), { kind: 'not-srs' });
    assert.equal(isSrsLocalPart('srs0=abc'), true);
    assert.equal(isSrsLocalPart('srs0abc'), false);
    for (const bad of [
      'SRS0=',
      'SRS0=HHHH=TT=domain',
      'SRS0=HHHHHHHH=T!=d.example=x',
      'SRS1=HHHH=first.example',
      'SRS1=H=f.example=x',
    ]) {
      assert.equal(srsReverse(bad, at(t0)).kind, 'refused', bad);
    }
  });
});
