// [metrics] over a real socket (issue 11): Prometheus text scraped before and after deliveries; /healthz 200 when ready, 503 while stopping.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPeer, type ScriptedPeer } from './queue-peer.js';
import {
  lineClient,
  sample,
  sendMail,
  startObservedServer,
  until,
  type ObservedServer,
} from '../helpers/observed-server.js';

let peer: ScriptedPeer;
let s: ObservedServer;

before(async () => {
  peer = await startPeer({
    data: () => '250 2.0.0 Ok: queued as 4XYZ123',
    rcpt: (address) => (address.startsWith('defer@') ? '451 4.3.0 try later' : '250 2.1.5 ok'),
  });
  s = await startObservedServer(peer.port);
});

after(async () => {
  await s.close();
  await peer.close();
});

describe('GET /metrics', () => {
  test('counters move with a local delivery, a relayed message and a failed login; gauges are read at scrape time', async () => {
    const before = await s.get('/metrics');
    assert.equal(before.status, 200);
    assert.match(before.type, /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(before.body, 'mailroom_messages_received_total'), 0);
    assert.equal(sample(before.body, 'mailroom_queue_messages'), 0);
    // prom-client's process metrics are there: memory and event-loop lag.
    assert.ok(sample(before.body, 'process_resident_memory_bytes') > 0);
    assert.match(before.body, /^nodejs_eventloop_lag_seconds \d/m);

    assert.match(
      await sendMail(s.port('smtp'), { from: 'someone@remote.test', to: ['bob@example.test'] }),
      /^250 /,
    );
    const auth = { user: 'alice@example.test', pass: 'pw secret 1' };
    assert.match(
      await sendMail(s.port('submission'), { from: 'alice@example.test', to: ['carol@remote.test'], auth }),
      /^250 /,
    );
    await until(() => peer.messages.length === 1);
    const wrong = await lineClient(s.port('submission'));
    await wrong.send('EHLO client.test');
    const refused = await wrong.send(
      `AUTH PLAIN ${Buffer.from('\0alice@example.test\0nope').toString('base64')}`,
    );
    assert.match(refused, /^535 /);
    wrong.close();

    let text = '';
    // The remote result is committed a turn after the peer's 250: wait until it is counted.
    for (let i = 0; i < 100; i++) {
      text = (await s.get('/metrics')).body;
      if (sample(text, 'mailroom_deliveries_total{destination="remote",result="delivered"}') === 1) break;
      await new Promise((done) => setTimeout(done, 20));
    }
    assert.equal(sample(text, 'mailroom_messages_received_total'), 2);
    assert.equal(sample(text, 'mailroom_deliveries_total{destination="local",result="delivered"}'), 1);
    assert.equal(sample(text, 'mailroom_deliveries_total{destination="remote",result="delivered"}'), 1);
    assert.equal(sample(text, 'mailroom_delivery_attempt_seconds_count'), 1);
    assert.equal(sample(text, 'mailroom_delivery_delay_seconds_count{result="delivered"}'), 1);
    assert.equal(sample(text, 'mailroom_connections_total{listener="smtp",result="accepted"}'), 1);
    assert.equal(sample(text, 'mailroom_connections_total{listener="submission",result="accepted"}'), 2);
    assert.equal(sample(text, 'mailroom_auth_total{protocol="smtp",outcome="ok"}'), 1);
    assert.equal(sample(text, 'mailroom_auth_total{protocol="smtp",outcome="failed"}'), 1);
    // Two deliveries (the local copy and the queue entry) went through the group committer.
    assert.equal(sample(text, 'mailroom_store_commit_batch_size_sum'), 2);
    assert.ok(sample(text, 'mailroom_store_commit_seconds_count') >= 1);
    assert.ok(sample(text, 'mailroom_store_commit_seconds_sum') > 0);
    // Every session has closed; the queue is empty again (delivered entries retire).
    await until(() => s.server.store.queue.list().length === 0);
    text = (await s.get('/metrics')).body;
    assert.equal(sample(text, 'mailroom_sessions_open{listener="smtp"}'), 0);
    // Read from the server's listeners: nothing waits for setup outside a burst.
    assert.equal(sample(text, 'mailroom_connections_waiting{listener="smtp"}'), 0);
    assert.equal(sample(text, 'mailroom_queue_messages'), 0);
    assert.equal(sample(text, 'mailroom_queue_oldest_age_seconds'), 0);
    assert.ok(sample(text, 'mailroom_dns_cache_total{result="miss"}') >= 0);
  });

  test('a deferred recipient shows in the queue gauges and as deferred', async () => {
    const auth = { user: 'alice@example.test', pass: 'pw secret 1' };
    assert.match(
      await sendMail(s.port('submission'), { from: 'alice@example.test', to: ['defer@remote.test'], auth }),
      /^250 /,
    );
    await until(() => s.server.store.queue.list()[0]?.recipients[0]?.state === 'deferred');
    const text = (await s.get('/metrics')).body;
    assert.equal(sample(text, 'mailroom_queue_messages'), 1);
    assert.equal(sample(text, 'mailroom_queue_recipients'), 1);
    assert.ok(sample(text, 'mailroom_queue_oldest_age_seconds') >= 0);
    assert.equal(sample(text, 'mailroom_deliveries_total{destination="remote",result="deferred"}'), 1);
    // Only final states count in the delay histogram.
    assert.equal(sample(text, 'mailroom_delivery_delay_seconds_count{result="delivered"}'), 1);
    s.server.store.queue.remove(s.server.store.queue.list()[0]!.id);
  });

  test('other paths are 404, other methods 405', async () => {
    assert.equal((await s.get('/')).status, 404);
    assert.equal((await s.get('/metrics/x')).status, 404);
  });
});
