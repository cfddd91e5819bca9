// Email/query through the JMAP engine (issue 9) on an N-message INBOX: the index fast path, the general engine cold and cached, text search.
// Run: node --import tsx bench/jmap-query.ts [messages]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { processRequest } from '../src/jmap/core/engine.js';
import { userOfAccount } from '../src/jmap/core/session.js';
import { mailCapabilities, mailMethods } from '../src/jmap/mail/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { fillInbox, threadHeaders } from './lib/fill-inbox.js';

const total = Number(process.argv[2] ?? '100000');
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'];

const dataDir = await mkdtemp(join(tmpdir(), 'mailroom-bench-jmapq-'));
const store = openSqliteStore({ dataDir });
try {
  store.addDomain('example.test');
  const account = store.addAccount('bob@example.test', 'h');
  const t0 = performance.now();
  await fillInbox(
    store,
    account.id,
    total,
    (i) =>
      `From: sender${i % 97} <s${i % 97}@remote.example>\r\nTo: bob@example.test\r\n${threadHeaders(i)}\r\nword${i} ${'x'.repeat(800)}\r\n`,
  );
  console.log(`filled ${total} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const deps = { store, logger: silentLogger(), hostname: 'bench.example', now: () => new Date() };
  const methods = mailMethods(deps);
  const user = userOfAccount(account, mailCapabilities(deps));
  const accountId = `A${account.id}`;
  const inbox = store.jmap.mailboxObjectId(store.getMailbox(account.id, 'INBOX')?.id as number);
  const run = async (args: Record<string, unknown>): Promise<number> => {
    const t = performance.now();
    const r = await processRequest(
      { using: USING, methodCalls: [['Email/query', { accountId, ...args }, 'q']] },
      { user, methods, limits: { maxObjectsInGet: 500, maxObjectsInSet: 500 }, sessionState: 's' },
    );
    if (r.methodResponses[0]?.[0] !== 'Email/query') throw new Error(JSON.stringify(r.methodResponses[0]));
    return performance.now() - t;
  };
  const measure = async (label: string, args: Record<string, unknown>, rounds: number): Promise<void> => {
    const cold = await run(args);
    const t: number[] = [];
    for (let i = 0; i < rounds; i++) t.push(await run(args));
    t.sort((a, b) => a - b);
    const p50 = t[Math.floor(rounds / 2)] as number;
    const p99 = t[Math.floor(rounds * 0.99)] as number;
    console.log(
      `${label.padEnd(58)} first ${cold.toFixed(1)} ms, then p50 ${p50.toFixed(3)} ms p99 ${p99.toFixed(3)} ms`,
    );
  };
  const newest = {
    filter: { inMailbox: inbox },
    sort: [{ property: 'receivedAt', isAscending: false }],
    limit: 50,
  };
  await measure('fast path: inMailbox, receivedAt desc, limit 50', newest, 2000);
  await measure('fast path with calculateTotal', { ...newest, calculateTotal: true }, 200);
  await measure(
    'general: inMailbox + notKeyword $seen, limit 50',
    { filter: { inMailbox: inbox, notKeyword: '$seen' }, limit: 50 },
    50,
  );
  await measure(
    'general: sort by subject then from',
    { sort: [{ property: 'subject' }, { property: 'from' }], limit: 50 },
    20,
  );
  await measure(
    'general: collapseThreads',
    { filter: { inMailbox: inbox }, collapseThreads: true, limit: 50 },
    20,
  );
  await measure('header search: from "sender42"', { filter: { from: 'sender42' }, limit: 50 }, 20);
  await measure(
    `body search: "word${total - 7}" (reads every body)`,
    { filter: { body: `word${total - 7}` } },
    2,
  );
} finally {
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
}
