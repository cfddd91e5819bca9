// Micro-benchmark of Email/get for a message list page (issue 9): 50 Emails with from, subject, preview, keywords, receivedAt.
// Run: node --import tsx bench/jmap-email-get.ts [messages]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { JmapAccount, MethodContext } from '../src/jmap/core/engine.js';
import { emailGet } from '../src/jmap/mail/email-get.js';
import { silentLogger } from '../src/observability/logger.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

const total = Number(process.argv[2] ?? '20000');
const dataDir = await mkdtemp(join(tmpdir(), 'mailroom-bench-emailget-'));
const store = openSqliteStore({ dataDir });
try {
  store.addDomain('example.test');
  const bob = store.addAccount('bob@example.test', 'h').id;
  const base = Date.parse('2026-01-01T00:00:00Z');
  for (let first = 0; first < total; first += 500) {
    const wave: Promise<void>[] = [];
    for (let i = first; i < Math.min(total, first + 500); i++) {
      const text =
        `From: Load Tester <load@remote.example>\r\nTo: bob@example.test\r\nMessage-ID: <m${i}@bench.example>\r\n` +
        `Subject: topic ${i}\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n` +
        `${'Hello there, this is a line of text. '.repeat(40)}\r\n`;
      const b = Buffer.from(text);
      wave.push(
        store.deliver({
          queueId: `Q${i}`,
          envelope: { sender: 'load@remote.example' },
          traceHeaders: `Received: by bench id Q${i}\r\n`,
          body: { kind: 'memory', chunks: [b], size: b.length },
          receivedAt: new Date(base + i * 1000),
          local: [{ accountId: bob }],
          remote: [],
        }),
      );
    }
    await Promise.all(wave);
  }
  const inbox = store.jmap.mailboxObjectId(store.getMailbox(bob, 'INBOX')!.id);
  const account: JmapAccount = {
    id: `A${bob}`,
    storeId: bob,
    name: 'bob',
    isPersonal: true,
    isReadOnly: false,
    capabilities: new Set(),
  };
  const ctx = { account, resolveId: (id: string) => id } as unknown as MethodContext;
  const deps = { store, logger: silentLogger(), hostname: 'x', now: () => new Date() };
  const page = (position: number) => store.jmap.queryMailbox(bob, inbox, position, 50, false)!.ids;
  for (const properties of [
    ['from', 'subject', 'preview', 'keywords', 'receivedAt'],
    ['from', 'subject', 'keywords', 'receivedAt'],
    ['keywords', 'receivedAt'],
  ]) {
    // A fresh value cache: the first pass over 20 pages parses messages (cold), the rest hit (warm).
    const handler = emailGet(deps);
    const cold: number[] = [];
    const warm: number[] = [];
    for (let round = 0; round < 220; round++) {
      const ids = page((round % 20) * 50);
      const t0 = performance.now();
      await handler.handle({ accountId: account.id, ids, properties }, ctx);
      (round < 20 ? cold : warm).push(performance.now() - t0);
    }
    const at = (t: number[], q: number) => [...t].sort((a, b) => a - b)[Math.floor(t.length * q)]!.toFixed(2);
    console.log(
      `Email/get 50 [${properties.join(',')}]: cold p50 ${at(cold, 0.5)} ms; warm p50 ${at(warm, 0.5)} ms, p99 ${at(warm, 0.99)} ms`,
    );
  }
} finally {
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
}
