// Micro-benchmark of IMAP SORT and THREAD on a 10,000-message INBOX over the pure session: cold (first use) and warm times.
// Run: node --import tsx bench/sort-thread.ts [messages] [rounds]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MailboxIndexCache } from '../src/imap/mailbox-index-cache.js';
import { isParseError, parseImapCommand } from '../src/imap/proto/command-parser.js';
import { partsToBuffer } from '../src/imap/proto/response-writer.js';
import { ImapSession } from '../src/imap/session.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

const COUNT = Number(process.argv[2] ?? '10000');
const ROUNDS = Number(process.argv[3] ?? '5');

/**
 * Message i: threads of up to 8 messages (a root, then replies with In-Reply-To and References to the
 * root and the previous reply, "Re: " subjects), 97 senders, dates out of mailbox order, a mailing-list
 * tag on every third thread: what SORT and THREAD have to work through on a real mailbox.
 */
function message(i: number): Buffer {
  const thread = Math.floor(i / 8);
  const k = i % 8;
  const tag = thread % 3 === 0 ? '[list] ' : '';
  const refs =
    k === 0
      ? ''
      : `In-Reply-To: <${i - 1}@bench.test>\r\nReferences: <${thread * 8}@bench.test>${k > 1 ? ` <${i - 1}@bench.test>` : ''}\r\n`;
  const minute = (i * 7919) % 50_000;
  const date = new Date(Date.UTC(2026, 0, 1) + minute * 60_000).toUTCString().replace('GMT', '+0000');
  return Buffer.from(
    `From: Sender ${i % 97} <sender${i % 97}@remote.example>\r\nTo: user@example.test\r\n` +
      `Subject: ${k > 0 ? 'Re: ' : ''}${tag}topic ${thread}\r\nDate: ${date}\r\n` +
      `Message-ID: <${i}@bench.test>\r\n${refs}\r\nbody of message ${i}\r\n${'x'.repeat(400)}\r\n`,
  );
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailroom-sort-bench-'));
  const store = openSqliteStore({ dataDir });
  try {
    store.addDomain('example.test');
    const bob = store.addAccount('bob@example.test', 'h').id;
    const t0 = performance.now();
    for (let start = 0; start < COUNT; start += 2000) {
      const jobs: Promise<void>[] = [];
      for (let i = start; i < Math.min(COUNT, start + 2000); i++) {
        const body = message(i);
        jobs.push(
          store.deliver({
            queueId: `B${i}`,
            envelope: { sender: 'x@remote.example' },
            traceHeaders: '',
            body: { kind: 'memory', chunks: [body], size: body.length },
            receivedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000),
            local: [{ accountId: bob }],
            remote: [],
          }),
        );
      }
      await Promise.all(jobs);
    }
    console.log(`filled ${COUNT} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const session = new ImapSession(
      {
        store,
        authenticate: async (u) => ({ kind: 'ok', account: u }),
        now: () => new Date(),
        indexCache: new MailboxIndexCache(store.mail),
        discardBody: () => undefined,
      },
      { hostname: 'bench', tlsAvailable: false, allowLoopbackPlaintext: true, maxAppendSize: 1 << 20 },
      { remoteAddress: '127.0.0.1', secure: false, loopback: true },
    );
    const send = async (line: string): Promise<string> => {
      const cmd = parseImapCommand({ segments: [Buffer.from(line)], literals: [] });
      if (isParseError(cmd)) throw new Error(cmd.text);
      return partsToBuffer((await session.handle(cmd, [])).parts).toString();
    };
    await send('l LOGIN bob@example.test x');
    await send('s SELECT INBOX');
    const commands = [
      'SORT (DATE) UTF-8 ALL',
      'SORT (REVERSE ARRIVAL) UTF-8 ALL',
      'SORT (SUBJECT DATE) UTF-8 ALL',
      'SORT (FROM) UTF-8 ALL',
      'SORT (DISPLAYFROM) UTF-8 ALL',
      'SORT RETURN (PARTIAL 1:50) (REVERSE DATE) UTF-8 ALL',
      'THREAD REFERENCES UTF-8 ALL',
      'THREAD ORDEREDSUBJECT UTF-8 ALL',
      'SORT (DATE) UTF-8 SUBJECT topic',
    ];
    for (const c of commands) {
      const times: number[] = [];
      let size = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const t = performance.now();
        const reply = await send(`t ${c}`);
        times.push(performance.now() - t);
        if (!/\r\nt OK/.test(reply)) throw new Error(`${c}: ${reply.slice(-200)}`);
        size = reply.length;
      }
      const warm = times.slice(1).sort((a, b) => a - b);
      const median = warm[Math.floor(warm.length / 2)] ?? times[0];
      console.log(
        `${c.padEnd(52)} first ${times[0]!.toFixed(1).padStart(7)} ms  median ${median!.toFixed(1).padStart(7)} ms  reply ${size} bytes`,
      );
    }
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
