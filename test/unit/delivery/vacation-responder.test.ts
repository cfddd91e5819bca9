// withVacationResponder's choice of whom to look up: each local account once, never a copy filed as junk nor a null-sender message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withVacationResponder } from '../../../src/delivery/vacation-responder.js';
import { silentLogger } from '../../../src/observability/logger.js';
import type { DeliveryRequest, Store } from '../../../src/store/store.js';
import { countSetsMade } from '../../helpers/count-sets.js';

function responder(): {
  looked: number[];
  delivered: number;
  deliver: (r: DeliveryRequest) => Promise<void>;
} {
  const state = { looked: [] as number[], delivered: 0 };
  // Only what the no-one-is-away path reads: a backend that does not tell the commit's vacation accounts.
  const store = {
    sending: {
      vacation: (id: number) => {
        state.looked.push(id);
        return { isEnabled: false };
      },
    },
  } as unknown as Store;
  const deliver = withVacationResponder(
    async () => {
      state.delivered += 1;
    },
    {
      store,
      hostname: 'mx.example.test',
      now: () => new Date(0),
      newQueueId: () => 'Q',
      logger: silentLogger(),
    },
  );
  return {
    get looked() {
      return state.looked;
    },
    get delivered() {
      return state.delivered;
    },
    deliver,
  };
}

function request(sender: string, local: DeliveryRequest['local']): DeliveryRequest {
  return {
    queueId: 'Q1',
    envelope: { sender },
    traceHeaders: '',
    body: { kind: 'memory', chunks: [Buffer.from('Subject: x\r\n\r\nhi\r\n')], size: 19 },
    receivedAt: new Date(0),
    local,
    remote: [],
  };
}

test('one local copy: its account is looked up; filed as junk or from the null sender: nobody is (RFC 3834 2)', async () => {
  const r = responder();
  await r.deliver(request('a@remote.test', [{ accountId: 7 }]));
  assert.deepEqual(r.looked, [7]);
  await r.deliver(request('a@remote.test', [{ accountId: 8, specialUse: '\\Junk' }]));
  await r.deliver(request('', [{ accountId: 9 }]));
  assert.deepEqual(r.looked, [7]);
  assert.equal(r.delivered, 3);
});

test('one local copy (a delivery at load (a)) takes no Set to find whom to look up', async () => {
  const r = responder();
  const { made } = await countSetsMade(() => r.deliver(request('a@remote.test', [{ accountId: 7 }])));
  assert.equal(made, 0);
  assert.deepEqual(r.looked, [7]);
});

test('several copies: each account once, in order, junk copies left out', async () => {
  const r = responder();
  await r.deliver(
    request('a@remote.test', [
      { accountId: 3 },
      { accountId: 1, mailbox: 'Lists' },
      { accountId: 3, mailbox: 'Other' },
      { accountId: 2, specialUse: '\\Junk' },
    ]),
  );
  assert.deepEqual(r.looked, [3, 1]);
  assert.equal(r.delivered, 1);
});
