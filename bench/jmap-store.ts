// Micro-benchmark of the JMAP store (issue 9): a 100,000-message INBOX, the newest page by receivedAt, Email/get, /changes, keywords.
// Run: node --import tsx bench/jmap-store.ts [messages]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { FILL_WAVE, fillInbox, threadHeaders } from './lib/fill-inbox.js';

const total = Number(process.argv[2] ?? '100000');

function median(fn: () => void, rounds: number): { p50: number; p99: number } {
  const t: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { p50: t[Math.floor(rounds / 2)] as number, p99: t[Math.floor(rounds * 0.99)] as number };
}

const dataDir = await mkdtemp(join(tmpdir(), 'mailroom-bench-jmap-'));
const store = openSqliteStore({ dataDir });
try {
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'h').id;
  const t0 = performance.now();
  await fillInbox(
    store,
    bob,
    total,
    (i) =>
      `From: load@remote.example\r\nTo: bob@example.test\r\n${threadHeaders(i)}\r\n${'x'.repeat(800)}\r\n`,
  );
  const fill = (performance.now() - t0) / 1000;
  console.log(
    `filled ${total} messages in ${fill.toFixed(1)} s (${Math.round(total / fill)} msgs/s, ${FILL_WAVE} concurrent)`,
  );
  const j = store.jmap;
  const inbox = j.mailboxObjectId(store.getMailbox(bob, 'INBOX')?.id as number);
  let ids: string[] = [];
  const first = median(() => {
    ids = j.queryMailbox(bob, inbox, 0, 50, false)?.ids ?? [];
  }, 500);
  console.log(
    `Email/query inMailbox INBOX receivedAt desc, first 50:   p50 ${first.p50.toFixed(3)} ms  p99 ${first.p99.toFixed(3)} ms`,
  );
  const withTotal = median(() => j.queryMailbox(bob, inbox, 0, 50, true), 100);
  console.log(
    `  the same with calculateTotal:                         p50 ${withTotal.p50.toFixed(3)} ms  p99 ${withTotal.p99.toFixed(3)} ms`,
  );
  const deep = median(() => j.queryMailbox(bob, inbox, Math.floor(total / 2), 50, false), 50);
  console.log(
    `  position ${Math.floor(total / 2)}:                                     p50 ${deep.p50.toFixed(3)} ms  p99 ${deep.p99.toFixed(3)} ms`,
  );
  const get = median(() => j.getEmails(bob, ids), 500);
  console.log(
    `Email/get of those 50 (ids, thread, mailboxIds, keywords): p50 ${get.p50.toFixed(3)} ms  p99 ${get.p99.toFixed(3)} ms`,
  );
  const threads = j.getEmails(bob, ids).map((e) => e?.threadId as string);
  const th = median(() => j.getThreads(bob, threads), 500);
  console.log(
    `Thread/get of their threads:                            p50 ${th.p50.toFixed(3)} ms  p99 ${th.p99.toFixed(3)} ms`,
  );
  const state = j.states(bob).Email;
  const t1 = performance.now();
  await j.setKeywords(bob, ids, ['$seen']);
  console.log(
    `Email/set keywords of 50 (MODSEQs, events, durable):     ${(performance.now() - t1).toFixed(2)} ms`,
  );
  const ch = median(() => j.changes(bob, 'Email', state, 500), 200);
  console.log(
    `Email/changes since before that (50 updates):            p50 ${ch.p50.toFixed(3)} ms  p99 ${ch.p99.toFixed(3)} ms`,
  );
  const mb = median(() => j.changes(bob, 'Mailbox', state, 500), 200);
  console.log(
    `Mailbox/changes since then:                              p50 ${mb.p50.toFixed(3)} ms  p99 ${mb.p99.toFixed(3)} ms`,
  );
} finally {
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
}
