// Which b-trees a group commit of SMTP deliveries writes: WAL frames per commit and per message, by table/index.
// Run: node --import tsx bench/wal-pages.ts [messages] [deliverers]
import Database from 'better-sqlite3';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

const total = Number(process.argv[2] ?? '2000');
const deliverers = Number(process.argv[3] ?? '20');
const dataDir = await mkdtemp(join(tmpdir(), 'mailroom-walpages-'));
const store = openSqliteStore({ dataDir });
store.addDomain('example.test');
const bob = store.addAccount('bob@example.test', 'h');
const dbPath = join(dataDir, 'mailroom.db');
// No automatic checkpoint: the WAL must keep every frame of the measured run.
(store as unknown as { db: Database.Database }).db.pragma('wal_autocheckpoint = 0');
const pad = 'x'.repeat(76) + '\r\n';
function message(i: number): Buffer {
  const date = new Date(Date.UTC(2026, 11, 6, 5, 0, 0) + i);
  const head =
    `From: <load@remote.example>\r\nTo: <bob@example.test>\r\nSubject: bench message ${i}\r\n` +
    `Message-ID: <${i}.${date.getTime()}@bench.mailroom.test>\r\nDate: ${date.toUTCString()}\r\n\r\n`;
  return Buffer.from(head + pad.repeat(Math.ceil(4096 / pad.length)));
}
async function deliverAll(from: number, count: number): Promise<void> {
  let n = from;
  async function one(): Promise<void> {
    while (n < from + count) {
      const id = n++;
      const body = message(id);
      await store.deliver({
        queueId: `Q${id}`,
        envelope: { sender: 'load@remote.example' },
        traceHeaders: `Received: from load by bench id Q${id}\r\n`,
        body: { kind: 'memory', chunks: [body], size: body.length },
        receivedAt: new Date(Date.UTC(2026, 11, 6, 5, 0, 0) + id),
        local: [{ accountId: bob.id }],
        remote: [],
        trace: { messageId: `<${id}@bench>`, via: 'mx', recipients: ['bob@example.test'] },
      });
    }
  }
  await Promise.all(Array.from({ length: deliverers }, one));
}
// Warm-up (the b-trees grow past their first pages), then a checkpoint so the WAL holds only the measured run.
await deliverAll(0, 1000);
const side = new Database(dbPath);
side.pragma('wal_checkpoint(TRUNCATE)');
const before = store.commitStats.batches;
await deliverAll(1000, total);
const batches = store.commitStats.batches - before;
// The WAL: 32-byte header, then frames of a 24-byte header (page number, commit size) and one page (sqlite.org/fileformat.html 4.1).
const wal = await readFile(dbPath + '-wal');
const pageSize = wal.readUInt32BE(8);
const frames: number[] = [];
let commits = 0;
for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
  frames.push(wal.readUInt32BE(off));
  if (wal.readUInt32BE(off + 4) !== 0) commits++;
}
const owner = new Map<number, string>();
for (const r of side.prepare('SELECT name, pageno FROM dbstat').all() as { name: string; pageno: number }[]) {
  owner.set(r.pageno, r.name);
}
const byName = new Map<string, number>();
for (const p of frames) {
  const name = p === 1 ? '(page 1)' : (owner.get(p) ?? '(free/other)');
  byName.set(name, (byName.get(name) ?? 0) + 1);
}
console.log(
  `${total} deliveries, ${batches} batches (${(total / batches).toFixed(1)} per batch), ${commits} commits in the WAL, ` +
    `${frames.length} frames: ${(frames.length / total).toFixed(2)} per message, ${(frames.length / commits).toFixed(1)} per commit`,
);
for (const [name, n] of [...byName].sort((a, b) => b[1] - a[1])) {
  console.log(
    `${(n / total).toFixed(3).padStart(7)} per msg ${(n / commits).toFixed(2).padStart(6)} per commit  ${name}`,
  );
}
side.close();
await store.close();
await rm(dataDir, { recursive: true, force: true });
