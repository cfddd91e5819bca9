// CPU per message of what runs above the store on SMTP load (a)'s path: routing, the vacation check, the two log lines, the counters.
// Run: node --import tsx bench/delivery-path-cpu.ts [--messages N] [--rounds R]
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { deliverAndLog } from '../src/delivery/delivery-log.js';
import { createRouter, type RouterStore } from '../src/delivery/router.js';
import { withVacationResponder } from '../src/delivery/vacation-responder.js';
import { coalescingDestination, createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import type { Account, DeliveryRequest, Store } from '../src/store/store.js';

/*
 * Why: at load (a) this code is ~20 us of a ~300 us message (bench/README.md, perf by category), under the
 * noise of run.ts's server CPU per message on a shared machine. Here it runs alone: a store that commits at
 * once (what deliverWithResult returns, nothing written), the server's own logger writing JSON lines to
 * /dev/null through the same coalescing destination, a message-accepted line from a session's child logger
 * as connection.ts logs it, one RCPT routed per message. Process CPU (user + system) per message, each round
 * after a warm-up.
 */
const { values: opt } = parseArgs({
  options: { messages: { type: 'string', default: '50000' }, rounds: { type: 'string', default: '5' } },
});
const messages = Number(opt.messages);

const bob: Account = {
  id: 1,
  address: 'bob@bench.test',
  passwordHash: '',
  createdAt: new Date(0),
  state: 'active',
  lastLoginAt: null,
};
const directory: RouterStore = {
  isLocalDomain: (d) => d === 'bench.test',
  getAccount: (a) => (a === bob.address ? bob : null),
  getAlias: () => null,
  listAccounts: () => [bob],
  listDomains: () => ['bench.test'],
};
let uid = 0;
const store = {
  ...directory,
  getAccountById: () => bob,
  deliver: async () => undefined,
  deliverWithResult: async (request: DeliveryRequest) => ({
    copies: request.local.map((l) => ({
      accountId: l.accountId,
      mailboxId: 1,
      uid: ++uid,
      mailbox: 'INBOX',
      account: bob.address,
    })),
    vacationAccounts: [],
  }),
} as unknown as Store;

const logger = createLogger({ destination: coalescingDestination(pino.destination('/dev/null')) });
const metrics = createMetrics();
const route = createRouter(store, { hostname: 'mx.bench.test' });
const deliver = withVacationResponder(deliverAndLog(store, logger.child({ component: 'delivery' })), {
  store,
  hostname: 'mx.bench.test',
  now: () => new Date(),
  newQueueId: () => 'Q',
  logger: logger.child({ component: 'vacation' }),
});
const session = logger.child({ session: 'S4Qx1abcDEF2' });
const body = { kind: 'memory' as const, chunks: [Buffer.from('Subject: x\r\n\r\nhi\r\n')], size: 19 };

async function one(i: number): Promise<void> {
  const routed = route('bob@bench.test', null);
  if (routed.kind !== 'accept') throw new Error('not routed');
  const queueId = `4Qx1abc${i.toString(36)}`;
  await deliver({
    queueId,
    envelope: { sender: 'load@remote.example' },
    traceHeaders: '',
    body,
    receivedAt: new Date(),
    local: routed.local,
    remote: [],
  });
  metrics.messageReceived(routed.local.length, 0);
  session.info(
    {
      event: 'message-accepted',
      queueId,
      messageId: `<${queueId}@remote.example>`,
      from: 'load@remote.example',
      to: ['bob@bench.test'],
      size: 4096,
      account: undefined,
    },
    'accepted',
  );
}

async function round(n: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    await one(i);
    // Let the 10 ms flush timer run now and then, as it does between a server's messages.
    if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

await round(messages); // warm-up: JIT
const figures: number[] = [];
for (let r = 0; r < Number(opt.rounds); r++) figures.push(await round(messages));
await metrics.text();
const sorted = [...figures].sort((a, b) => a - b);
process.stderr.write(
  `delivery path: ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} us CPU per message (median; rounds ${figures.map((f) => f.toFixed(2)).join(', ')})\n`,
);
