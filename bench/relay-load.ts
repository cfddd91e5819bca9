// The relay bench's submission load: N sessions submitting messages with several recipients each (pipelined, optional AUTH PLAIN).
import { performance } from 'node:perf_hooks';
import { BenchConnection, UnexpectedReply } from './smtp/connection.js';
import { buildHeaders, buildPayload, DATA_END } from './smtp/message.js';

export interface RelayLoadOptions {
  host: string;
  port: number;
  sessions: number;
  messages: number;
  /** Recipients of message i (distinct addresses, so duplicates at the sinks are visible). */
  recipients: (index: number) => string[];
  from: string;
  size: number; // payload bytes per message
  /** AUTH PLAIN after EHLO (RFC 4954); absent: the peer relays for our address (Postfix mynetworks). */
  auth?: { username: string; password: string };
  deadlineMs: number;
}

export interface RelayLoadResult {
  accepted: number;
  rejected: number;
  errors: number;
  /** performance.now() when the first session started connecting, and when the last 250 came. */
  startedAt: number;
  finishedAt: number;
  firstErrors: string[];
}

/**
 * Submits `messages` messages over `sessions` connections, each connection sending until the total is
 * claimed. MAIL, every RCPT and DATA go in one write when the server offers PIPELINING (RFC 2920 3.1).
 */
export async function runRelayLoad(o: RelayLoadOptions): Promise<RelayLoadResult> {
  const payload = buildPayload(o.size);
  const res: RelayLoadResult = {
    accepted: 0,
    rejected: 0,
    errors: 0,
    startedAt: performance.now(),
    finishedAt: 0,
    firstErrors: [],
  };
  let claimed = 0;
  const claim = (): number | null => {
    if (claimed >= o.messages || performance.now() - res.startedAt > o.deadlineMs) return null;
    return claimed++;
  };
  const note = (e: unknown): void => {
    if (res.firstErrors.length < 5) res.firstErrors.push(e instanceof Error ? e.message : String(e));
  };

  const session = async (): Promise<void> => {
    let conn: BenchConnection;
    try {
      conn = await BenchConnection.open(o.host, o.port, 60_000);
      await conn.expect(220, 'greeting');
      await conn.write('EHLO load.bench.test\r\n');
      const ehlo = await conn.expect(250, 'EHLO');
      const pipelining = ehlo.lines.some((l) => /^PIPELINING\b/i.test(l));
      if (o.auth) {
        const token = Buffer.from(`\0${o.auth.username}\0${o.auth.password}`).toString('base64');
        await conn.write(`AUTH PLAIN ${token}\r\n`);
        await conn.expect(235, 'AUTH');
      }
      for (let i = claim(); i !== null; i = claim()) {
        const rcpts = o.recipients(i);
        const commands = [`MAIL FROM:<${o.from}>\r\n`, ...rcpts.map((r) => `RCPT TO:<${r}>\r\n`), 'DATA\r\n'];
        try {
          if (pipelining) {
            await conn.write(commands.join(''));
            const replies = [];
            for (let k = 0; k < commands.length; k++) replies.push(await conn.next());
            const data = replies[replies.length - 1];
            if (data && data.code !== 354) {
              // MAIL or every RCPT refused: the DATA refusal follows; report the first cause.
              throw new UnexpectedReply('MAIL/RCPT/DATA', replies.find((r) => r.code !== 250) ?? data);
            }
          } else {
            for (const c of commands.slice(0, -1)) {
              await conn.write(c);
              await conn.expect(250, c.slice(0, 4));
            }
            await conn.write('DATA\r\n');
            await conn.expect(354, 'DATA');
          }
          const to = rcpts.join(', ');
          await conn.write(buildHeaders({ index: i, from: o.from, to, date: new Date() }), payload, DATA_END);
          await conn.expect(250, 'end of data');
          res.accepted++;
          res.finishedAt = performance.now();
        } catch (e) {
          if (!(e instanceof UnexpectedReply)) throw e;
          res.rejected++;
          note(e);
          await conn.write('RSET\r\n');
          await conn.next();
        }
      }
      await conn.write('QUIT\r\n');
      await conn.next().catch(() => undefined);
      conn.close();
    } catch (e) {
      res.errors++;
      note(e);
    }
  };
  await Promise.all(Array.from({ length: o.sessions }, () => session()));
  return res;
}
