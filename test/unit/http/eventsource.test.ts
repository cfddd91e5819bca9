// EventSource streams (RFC 8620 7.3) in one registry: one subscription, one watch per account, one ping timer, shared bytes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventSourceStreams } from '../../../src/http/eventsource.js';
import type { StateSource } from '../../../src/jmap/core/push.js';
import { userOfAccount } from '../../../src/jmap/core/session.js';
import { Ticker } from '../../../src/net/ticker.js';

/** The parts of ServerResponse the registry uses, recording what is written. */
class FakeResponse {
  written: (string | Buffer)[] = [];
  writableEnded = false;
  destroyed = false;
  private onClose: (() => void)[] = [];
  writeHead() {}
  flushHeaders() {}
  write(chunk: string | Buffer) {
    this.written.push(chunk);
    return true;
  }
  end() {
    this.writableEnded = true;
    for (const f of this.onClose) f.call(this);
  }
  on(event: string, f: () => void) {
    if (event === 'close') this.onClose.push(f);
  }
  /** The client went away. */
  close() {
    for (const f of this.onClose) f.call(this);
  }
  text() {
    return this.written.map((c) => c.toString()).join('');
  }
}

function setup() {
  let now = 0;
  const listeners = new Set<(storeId: number, changed: Record<string, string>) => void>();
  const watching = new Map<number, number>();
  const states: StateSource = {
    current: () => ({ Email: 'e0', Mailbox: 'm0' }),
    subscribe(l) {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    watch(storeId) {
      watching.set(storeId, (watching.get(storeId) ?? 0) + 1);
      return () => watching.set(storeId, watching.get(storeId)! - 1);
    },
  };
  const ticker = new Ticker(1000, () => now);
  const registry = new EventSourceStreams(states, ticker, () => now);
  const open = (query: string, accountId = 1, gone = false) => {
    const res = new FakeResponse();
    // A client that hung up while its credentials were checked: node:http has destroyed its response.
    res.destroyed = gone;
    const req = { socket: { setTimeout() {} } };
    registry.serve(
      req as never,
      res as never,
      userOfAccount({ id: accountId, address: `u${accountId}@example.test` }, []),
      new URLSearchParams(query),
    );
    return res;
  };
  const change = (storeId: number, changed: Record<string, string>) => {
    for (const l of listeners) l(storeId, changed);
  };
  return {
    registry,
    ticker,
    open,
    change,
    listeners,
    watching,
    advance: (ms: number) => {
      for (let i = 0; i < ms / 1000; i++) {
        now += 1000;
        ticker.tick();
      }
    },
  };
}

describe('EventSource registry', () => {
  test('a client already gone when its stream would start gets none: nothing registered, nothing watched', () => {
    const { registry, open, listeners, watching, ticker } = setup();
    const res = open('types=*&closeafter=no&ping=30', 1, true);
    assert.equal(registry.size, 0);
    assert.equal(listeners.size, 0);
    assert.equal(watching.size, 0);
    assert.equal(ticker.size, 0);
    assert.equal(res.text(), '');
  });

  test('1,000 streams: one subscription, one watch per account, one ticker task; all released at the end', () => {
    const { registry, open, listeners, watching, ticker } = setup();
    const streams = Array.from({ length: 1000 }, (_, i) =>
      open('types=*&closeafter=no&ping=30', (i % 2) + 1),
    );
    assert.equal(registry.size, 1000);
    assert.equal(listeners.size, 1);
    assert.deepEqual(
      [...watching],
      [
        [1, 1],
        [2, 1],
      ],
    );
    assert.equal(ticker.size, 1);
    for (const s of streams) s.close();
    assert.equal(registry.size, 0);
    assert.equal(listeners.size, 0);
    assert.deepEqual(
      [...watching],
      [
        [1, 0],
        [2, 0],
      ],
    );
    assert.equal(ticker.size, 0);
  });

  test('a change goes to its account\u2019s streams only, the same bytes to every "*" stream, filtered for the others', () => {
    const { open, change } = setup();
    const a = open('types=*&closeafter=no&ping=0');
    const b = open('types=*&closeafter=no&ping=0');
    const mailOnly = open('types=Mailbox&closeafter=no&ping=0');
    const other = open('types=*&closeafter=no&ping=0', 2);
    for (const s of [a, b, mailOnly, other]) s.written = [];
    change(1, { Email: 'e1' });
    assert.equal(a.written.length, 1);
    assert.equal(a.written[0], b.written[0], 'one encoding shared');
    assert.match(
      a.text(),
      /^event: state\ndata: \{"@type":"StateChange","changed":\{"A1":\{"Email":"e1"\}\}\}\n\n$/,
    );
    assert.deepEqual(mailOnly.written, []);
    assert.deepEqual(other.written, []);
    change(1, { Mailbox: 'm1', Email: 'e2' });
    assert.match(mailOnly.text(), /"changed":\{"A1":\{"Mailbox":"m1"\}\}/);
  });

  test('the first event is the current states; closeafter=state waits for a change and then ends', () => {
    const { open, change, registry } = setup();
    const s = open('types=Email&closeafter=no&ping=0');
    assert.match(s.text(), /"changed":\{"A1":\{"Email":"e0"\}\}/);
    const poll = open('types=*&closeafter=state&ping=0');
    assert.deepEqual(poll.written, []);
    change(1, { Email: 'e1' });
    assert.equal(poll.written.length, 1);
    assert.equal(poll.writableEnded, true);
    assert.equal(registry.size, 1);
  });

  test('pings: a stream silent for its interval gets one within a tick, never later; events put it off', () => {
    const { open, change, advance } = setup();
    const s = open('types=*&closeafter=no&ping=5');
    s.written = [];
    advance(3000);
    assert.deepEqual(s.written, []);
    advance(1000); // 4 s of silence: the tick at 5 s would be late, so the ping goes now
    assert.equal(s.text(), 'event: ping\ndata: {"interval":5}\n\n');
    s.written = [];
    advance(2000);
    change(1, { Email: 'e9' }); // an event at 6 s
    advance(3000);
    assert.equal(s.written.length, 1, 'no ping 3 s after an event');
    advance(1000);
    assert.equal(s.written.length, 2);
  });

  test('shutdown ends every stream', () => {
    const { open, registry } = setup();
    const streams = [open('ping=0'), open('ping=10')];
    registry.closeAll();
    assert.ok(streams.every((s) => s.writableEnded));
    assert.equal(registry.size, 0);
  });
});
