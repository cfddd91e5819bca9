// The per-message counters (received, local deliveries): exact at every read, without a prom-client call per message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Counter } from 'prom-client';
import { createMetrics } from '../../../src/observability/metrics.js';

function line(text: string, series: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(series));
}

test('messageReceived: totals shown at each scrape, prom-client touched at the read, not per message', async (t) => {
  const metrics = createMetrics();
  const received = metrics.registry.getSingleMetric('mailroom_messages_received_total') as Counter;
  const deliveries = metrics.registry.getSingleMetric('mailroom_deliveries_total') as Counter;
  const incReceived = t.mock.method(received, 'inc');
  const incDeliveries = t.mock.method(deliveries, 'inc');

  let text = await metrics.text();
  assert.equal(line(text, 'mailroom_messages_received_total '), 'mailroom_messages_received_total 0');
  assert.equal(line(text, 'mailroom_deliveries_total{destination="local"'), undefined);

  for (let i = 0; i < 100; i++) metrics.messageReceived(i % 3, 1); // 0, 1 or 2 local recipients
  metrics.messageReceived(0, 2);
  // Per message, only plain numbers move (an inc hashes labels and checks the value: ~1 us at load (a)).
  assert.equal(incReceived.mock.callCount(), 0);
  assert.equal(incDeliveries.mock.callCount(), 0);

  text = await metrics.text();
  assert.equal(line(text, 'mailroom_messages_received_total '), 'mailroom_messages_received_total 101');
  const local = 33 * 1 + 33 * 2; // i % 3 over 0..99: 34 zeros, 33 ones, 33 twos
  assert.equal(
    line(text, 'mailroom_deliveries_total{destination="local"'),
    `mailroom_deliveries_total{destination="local",result="delivered"} ${local}`,
  );

  // Later messages add to what was shown; remote attempts still count on the same counter.
  metrics.messageReceived(1, 0);
  metrics.deliveryAttempt('delivered', 0.1, 1);
  text = await metrics.text();
  assert.equal(line(text, 'mailroom_messages_received_total '), 'mailroom_messages_received_total 102');
  assert.equal(
    line(text, 'mailroom_deliveries_total{destination="local"'),
    `mailroom_deliveries_total{destination="local",result="delivered"} ${local + 1}`,
  );
  assert.equal(
    line(text, 'mailroom_deliveries_total{destination="remote"'),
    'mailroom_deliveries_total{destination="remote",result="delivered"} 1',
  );
  // A read with nothing new adds nothing.
  assert.equal(
    line(await metrics.text(), 'mailroom_messages_received_total '),
    'mailroom_messages_received_total 102',
  );
});

test('connections waiting for setup: read from the listeners at each scrape, per listener', async () => {
  const metrics = createMetrics();
  let rows = [
    { listener: 'smtp', connections: 12 },
    { listener: 'imaps', connections: 0 },
  ];
  metrics.watch({ waiting: () => rows });
  let text = await metrics.text();
  assert.equal(
    line(text, 'mailroom_connections_waiting{listener="smtp"}'),
    'mailroom_connections_waiting{listener="smtp"} 12',
  );
  assert.equal(
    line(text, 'mailroom_connections_waiting{listener="imaps"}'),
    'mailroom_connections_waiting{listener="imaps"} 0',
  );
  // The burst is served: the next scrape shows what waits now, not what waited before.
  rows = [{ listener: 'smtp', connections: 0 }];
  text = await metrics.text();
  assert.equal(
    line(text, 'mailroom_connections_waiting{listener="smtp"}'),
    'mailroom_connections_waiting{listener="smtp"} 0',
  );
  assert.equal(line(text, 'mailroom_connections_waiting{listener="imaps"}'), undefined);
});
