// Pre-login memory flood against `mailroom serve` in a child process (issue 8 item 1): IMAP, SMTP AUTH and POP3
// clients from many 127.x addresses send what they may before login; the server's RSS must stay bounded and
// come back once they are gone. FLOOD_CONNECTIONS=1000 measures the larger case (figures are printed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createMailroom, type MailroomInstance } from '../helpers/mailroom-process.js';

const CONNECTIONS = Number(process.env.FLOOD_CONNECTIONS ?? 300);
/** Per-IP limit is 50 per listener: spread the clients over enough source addresses. */
const PER_IP = 40;
/** How long the clients hold what they sent while the server's memory is sampled. */
const SAMPLE_MS = 1_000;
const MB = 1024 * 1024;
const LITERAL = Buffer.alloc(64_000, 0x41);
/**
 * 64 KiB pieces of junk or of an endless line each streaming client sends. The server reads and drops
 * them (bounded), but reading fast makes garbage V8 collects only after tens of MB: four keep the
 * measure about what connections hold, and the test short.
 */
const STREAMED = 4;

let server: MailroomInstance;

before(async () => {
  server = await createMailroom({ enable: ['imap', 'pop3'] });
  server.cli(['domain', 'add', 'example.test']);
  server.cli(['user', 'add', 'eve@example.test', '--password', 'eve-secret']);
  await server.start();
});

after(async () => {
  await server.cleanup();
});

function rss(): number {
  const pid = server.process?.pid;
  assert.ok(pid, 'server running');
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]) * 1024;
}

/**
 * What one client does once connected (the greeting may not have arrived yet); true when the server is
 * expected to close it (so the phase waits for that, up to 10 s, before sampling).
 */
type Behaviour = (socket: Socket, index: number) => boolean | void;

/**
 * Opens CONNECTIONS sockets from 127.0.<n>.<m> running `behaviour`, waits until the server has greeted
 * them all and taken what they wrote (or 10 s), samples the server's RSS for SAMPLE_MS while they hold what they sent, then
 * closes them all. Returns the peak.
 */
async function flood(port: number, behaviour: Behaviour, count = CONNECTIONS): Promise<number> {
  const sockets: Socket[] = [];
  const closing: Socket[] = [];
  let greeted = 0;
  for (let i = 0; i < count; i++) {
    const ip = Math.floor(i / PER_IP);
    const socket = connect({
      host: '127.0.0.1',
      port,
      localAddress: `127.0.${10 + (ip >> 8)}.${(ip & 255) + 1}`,
    });
    sockets.push(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.once('data', () => greeted++);
    socket.once('connect', () => {
      if (behaviour(socket, i) === true) closing.push(socket);
    });
  }
  let peak = rss();
  const giveUp = Date.now() + 10_000;
  // Until every client is greeted, has handed all it wrote to the kernel and, if the server should close
  // it, is closed (or 10 s): the kernel absorbs a megabyte per socket that the server may not have read.
  const sending = (): boolean => sockets.some((x) => !x.destroyed && x.writableLength > 0);
  const open = (): boolean => closing.some((x) => !x.destroyed);
  while ((greeted < count || sending() || open()) && Date.now() < giveUp) {
    await new Promise((r) => setTimeout(r, 100));
    peak = Math.max(peak, rss());
  }
  const until = Date.now() + SAMPLE_MS;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    peak = Math.max(peak, rss());
  }
  for (const s of sockets) s.destroy();
  return peak;
}

/** Waits for the server to notice the closes, then returns its RSS. */
async function settled(): Promise<number> {
  await new Promise((r) => setTimeout(r, 1_000));
  return rss();
}

/** Writes `data` `times` times without waiting (the bytes pile up in the kernel if the server stops reading). */
function repeat(socket: Socket, data: Buffer, times: number): void {
  for (let i = 0; i < times && !socket.destroyed; i++) socket.write(data);
}

const JUNK_LINES = Buffer.from('\r\n'.repeat(32_000));
const JUNK_WORDS = Buffer.from('x\r\n'.repeat(20_000));

const imap: Behaviour = (socket, i) => {
  if (i % 3 !== 1) {
    // The probe of the issue: LOGIN with 64,000-byte non-synchronising literals, sixteen times, at once.
    // (Junk lines before login are tested in test/integration/imap-prelogin.test.ts.)
    for (let n = 0; n < 16; n++) {
      socket.write(`a${n} LOGIN {64000+}\r\n`);
      socket.write(LITERAL);
    }
    return true;
  }
  // An unfinished LOGIN holding as much as it may: the password literal one byte short.
  socket.once('data', () => {
    socket.write('a LOGIN {16}\r\n');
    socket.once('data', () => {
      socket.write('eve@example.test {1024}\r\n');
      socket.once('data', () => socket.write(Buffer.alloc(1023, 0x70)));
    });
  });
};

const smtp: Behaviour = (socket, i) => {
  if (i % 3 === 0) {
    // An AUTH line as long as RFC 4954 4 allows, and never finished.
    socket.write('EHLO flood.example\r\nAUTH PLAIN ');
    socket.write(Buffer.alloc(12_000, 0x41));
  } else if (i % 3 === 1) {
    // An endless AUTH line.
    socket.write('EHLO flood.example\r\nAUTH PLAIN ');
    repeat(socket, LITERAL, STREAMED);
  } else {
    // Pipelined junk (empty lines), never reading the answers.
    socket.once('data', () => {
      socket.pause();
      repeat(socket, JUNK_LINES, STREAMED);
    });
  }
};

const pop3: Behaviour = (socket, i) => {
  if (i % 3 === 0) {
    socket.write('CAPA\r\nAUTH PLAIN\r\n');
    socket.write(Buffer.alloc(12_000, 0x41));
  } else if (i % 3 === 1) {
    socket.write('USER ');
    repeat(socket, LITERAL, STREAMED);
  } else {
    socket.once('data', () => {
      socket.pause();
      repeat(socket, JUNK_WORDS, STREAMED);
    });
  }
};

test(`${CONNECTIONS} pre-login connections per protocol keep the server's memory bounded, and it comes back`, async () => {
  const ports = server.ports;
  const phases = [
    ['imap', ports.imap as number, imap],
    ['smtp', ports.submission, smtp],
    ['pop3', ports.pop3 as number, pop3],
  ] as const;
  // Warm up with a small flood of each kind, so code compiled and heap grown once is in the baseline.
  for (const [, port, behaviour] of phases) await flood(port, behaviour, Math.ceil(CONNECTIONS / 10));
  const baseline = await settled();
  const figures: string[] = [`baseline ${mb(baseline)} MB`];
  const growth: number[] = [];
  const afterRound: number[] = [];
  let before = baseline;
  // Twice: the second round shows whether closed connections left anything behind.
  for (const round of [1, 2]) {
    for (const [name, port, behaviour] of phases) {
      const peak = await flood(port, behaviour);
      const after = await settled();
      growth.push(peak - before);
      figures.push(`${name}#${round} peak ${mb(peak)} (+${mb(peak - before)}) after ${mb(after)}`);
      before = after;
    }
    afterRound.push(before);
  }
  const report = `pre-login flood, ${CONNECTIONS} connections per protocol (MB): ${figures.join('; ')}`;
  console.log(`# ${report}`);
  assert.ok(server.process && server.process.exitCode === null, 'server alive');
  // Before the fix 100 of the IMAP probe's connections alone took the server from 90 MB to 277 MB and kept
  // it. What remains is garbage from reading fast (V8 collects Buffers only after tens of MB).
  assert.ok(Math.max(...growth) < 60 * MB, report);
  // Freed memory is not all handed back to the OS (V8 keeps its heap pages, malloc its arenas: the live
  // JS heap is back to ~15 MB), but a second identical flood must reuse it, not add as much again.
  const [first, second] = afterRound as [number, number];
  assert.ok(second - first < 30 * MB, report);
  assert.ok(second - baseline < 100 * MB, report);
});

function mb(bytes: number): string {
  return (bytes / MB).toFixed(0);
}
