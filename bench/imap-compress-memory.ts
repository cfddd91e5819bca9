// Memory per COMPRESS=DEFLATE connection (RFC 4978) for some zlib settings: N DeflateConnections, each used once both ways.
// Run: node --expose-gc --import tsx bench/imap-compress-memory.ts [N]
import { Duplex, PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { DeflateConnection, type DeflateSettings } from '../src/net/deflate-connection.js';
import { IMAP_COMPRESS } from '../src/config/limits.js';

const N = Number(process.argv[2] ?? 500);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

/** A typical first exchange: a SELECT's responses out, one command in. */
const RESPONSE = Buffer.from(
  '* 120 EXISTS\r\n* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n' +
    '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r\n' +
    '* OK [UIDVALIDITY 1733390000] UIDs valid\r\n* OK [UIDNEXT 121] Predicted next UID\r\na2 OK [READ-WRITE] SELECT completed\r\n',
);
const COMMAND = zlib.deflateRawSync(Buffer.from('a3 UID FETCH 1:* (FLAGS)\r\n'), {
  finishFlush: zlib.constants.Z_SYNC_FLUSH,
});

/** A FETCH burst as a client's first sync makes it: 300 envelopes of varied mail, for the compression ratio. */
const SAMPLE = Buffer.from(
  Array.from(
    { length: 300 },
    (_, i) =>
      `* ${i + 1} FETCH (UID ${i + 1} FLAGS (\\Seen) RFC822.SIZE ${2000 + ((i * 7919) % 50000)} ENVELOPE ` +
      `("Mon, ${1 + (i % 28)} Nov 2026 ${10 + (i % 12)}:${10 + (i % 49)}:00 +0000" "Re: project ${i % 37} status ${i}" ` +
      `(("Person ${i % 23}" NIL "person${i % 23}" "example${i % 5}.org")) NIL NIL ((NIL NIL "bob" "example.test")) NIL NIL NIL "<${i * 31}.${i}@example${i % 5}.org>"))\r\n`,
  ).join(''),
);

async function measure(settings: DeflateSettings | null): Promise<number> {
  gc();
  await settle();
  const before = process.memoryUsage().rss;
  const held: Array<{ c: Duplex; wire: PassThrough; sent: PassThrough }> = [];
  for (let i = 0; i < N; i++) {
    const wire = new PassThrough();
    const sent = new PassThrough();
    sent.resume();
    const inner = Duplex.from({ readable: wire, writable: sent });
    const c = settings ? new DeflateConnection(inner, settings) : inner;
    c.on('data', () => undefined);
    c.on('error', () => undefined);
    c.write(RESPONSE);
    wire.write(settings ? COMMAND : Buffer.from('a3 UID FETCH 1:* (FLAGS)\r\n'));
    held.push({ c, wire, sent });
  }
  await settle();
  gc();
  await settle();
  const per = (process.memoryUsage().rss - before) / N;
  for (const h of held) h.c.destroy();
  return per;
}

const rows: Array<[string, DeflateSettings | null]> = [
  ['plain (no compression)', null],
  ['zlib defaults (window 15, memLevel 8)', { level: 6, windowBits: 15, memLevel: 8 }],
  ['window 13, memLevel 6', { level: 6, windowBits: 13, memLevel: 6 }],
  [`IMAP_COMPRESS (window ${IMAP_COMPRESS.windowBits}, memLevel ${IMAP_COMPRESS.memLevel})`, IMAP_COMPRESS],
  ['window 10, memLevel 4', { level: 6, windowBits: 10, memLevel: 4 }],
];
for (const [name, s] of rows) {
  const per = await measure(s);
  const ratio = s
    ? (
        zlib.deflateRawSync(SAMPLE, { ...s, finishFlush: zlib.constants.Z_SYNC_FLUSH }).length / SAMPLE.length
      ).toFixed(2)
    : '1.00';
  console.log(
    `${name.padEnd(44)} ${(per / 1024).toFixed(1).padStart(7)} KiB/connection  (300 envelopes: x${ratio} the bytes)`,
  );
}
