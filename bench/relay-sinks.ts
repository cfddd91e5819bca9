// The relay bench's destination peers: one minimal SMTP sink per domain on loopback, counting accepted recipients and when.
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface SinkStats {
  /** Recipient acceptances (the 250 after the final dot), per recipient address: >1 means a duplicate. */
  perRecipient: Map<string, number>;
  /** performance.now() of every acceptance, per domain, in order. */
  times: Map<string, number[]>;
  /** Transactions the 451 sink refused. */
  refused: number;
  connections: number;
}

export interface Sink {
  domain: string;
  port: number;
  /** 'accept': a well-behaved receiver; 'tempfail': 451 to every MAIL (RFC 5321 4.2.2 "try later"). */
  mode: 'accept' | 'tempfail';
}

export interface SinkSet {
  sinks: Sink[];
  stats: SinkStats;
  /** Forgets all counts (between runs). */
  reset(): void;
  close(): Promise<void>;
}

const EHLO =
  '250-sink.bench.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 52428800\r\n250 ENHANCEDSTATUSCODES\r\n';
const END = Buffer.from('\r\n.\r\n');

/**
 * One connection: reads pipelined commands (RFC 2920: replies in order, one write per batch) and DATA up
 * to CRLF.CRLF. Recipients are counted only when the message is accepted, which is when the relay
 * counts them delivered.
 */
function serve(socket: Socket, sink: Sink, stats: SinkStats, open: Set<Socket>): void {
  stats.connections++;
  open.add(socket);
  socket.on('close', () => open.delete(socket));
  socket.setNoDelay(true);
  let buf: Buffer = Buffer.alloc(0);
  let inData = false;
  let rcpts: string[] = [];
  socket.write('220 sink.bench.test ESMTP\r\n');
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let out = '';
    for (;;) {
      if (inData) {
        // DATA prepended a CRLF, so an empty body's lone "." line is found like any other end.
        const at = buf.indexOf(END);
        if (at === -1) {
          // Keep only what could be the start of the terminator.
          if (buf.length > 4) buf = buf.subarray(buf.length - 4);
          break;
        }
        buf = buf.subarray(at + END.length);
        inData = false;
        const now = performance.now();
        for (const r of rcpts) {
          stats.perRecipient.set(r, (stats.perRecipient.get(r) ?? 0) + 1);
          const list = stats.times.get(sink.domain) ?? [];
          list.push(now);
          stats.times.set(sink.domain, list);
        }
        rcpts = [];
        out += '250 2.0.0 accepted\r\n';
        continue;
      }
      const nl = buf.indexOf(0x0a);
      if (nl < 0) break;
      const line = buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      buf = buf.subarray(nl + 1);
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') out += EHLO;
      else if (verb === 'HELO') out += '250 sink.bench.test\r\n';
      else if (verb === 'MAIL') {
        rcpts = [];
        if (sink.mode === 'tempfail') {
          stats.refused++;
          out += '451 4.3.0 try again later\r\n';
        } else out += '250 2.1.0 ok\r\n';
      } else if (verb === 'RCPT') {
        if (sink.mode === 'tempfail') out += '503 5.5.1 no transaction\r\n';
        else {
          const m = /<([^>]*)>/.exec(line);
          rcpts.push((m?.[1] ?? '').toLowerCase());
          out += '250 2.1.5 ok\r\n';
        }
      } else if (verb === 'DATA') {
        if (rcpts.length === 0) out += '554 5.5.1 no valid recipients\r\n';
        else {
          out += '354 go ahead\r\n';
          inData = true;
          // RFC 5321 4.1.1.4: the end is CRLF "." CRLF, and the DATA line's CRLF is the first CRLF.
          buf = Buffer.concat([Buffer.from('\r\n'), buf]);
        }
      } else if (verb === 'RSET') {
        rcpts = [];
        out += '250 2.0.0 ok\r\n';
      } else if (verb === 'QUIT') {
        out += '221 2.0.0 bye\r\n';
        socket.end(out);
        return;
      } else if (verb === 'NOOP') out += '250 2.0.0 ok\r\n';
      else out += '502 5.5.2 not implemented\r\n';
    }
    if (out) socket.write(out);
  });
  socket.on('error', () => socket.destroy());
}

/** Starts one sink per domain on 127.0.0.1 (port 0: the OS picks); `tempfail` names domains answering 451. */
export async function startSinks(domains: string[], tempfail: ReadonlySet<string>): Promise<SinkSet> {
  const stats: SinkStats = { perRecipient: new Map(), times: new Map(), refused: 0, connections: 0 };
  const servers: Server[] = [];
  const sinks: Sink[] = [];
  const open = new Set<Socket>();
  for (const domain of domains) {
    const sink: Sink = { domain, port: 0, mode: tempfail.has(domain) ? 'tempfail' : 'accept' };
    const server = createServer((socket) => serve(socket, sink, stats, open));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    sink.port = address && typeof address === 'object' ? address.port : 0;
    servers.push(server);
    sinks.push(sink);
  }
  return {
    sinks,
    stats,
    reset() {
      stats.perRecipient.clear();
      stats.times.clear();
      stats.refused = 0;
      stats.connections = 0;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}
