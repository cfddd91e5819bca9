// Our SMTP load generator: N parallel sessions, M messages of S bytes, pipelined MAIL/RCPT/DATA, per-message latency.
import { performance } from 'node:perf_hooks';
import { BenchConnection, UnexpectedReply } from './connection.js';
import { buildHeaders, buildPayload, DATA_END } from './message.js';

export interface LoadOptions {
  host: string;
  port: number;
  sessions: number; // parallel sessions
  messages: number; // total messages over all sessions
  size: number; // payload bytes per message (headers excluded, like smtp-source -l)
  /** 'many': each session sends messages until the total is reached; 'one': one message per connection. */
  perConnection: 'many' | 'one';
  from: string;
  to: string;
  /** Stop taking new messages after this long (the load stays bounded whatever the server does). */
  deadlineMs: number;
  replyTimeoutMs?: number;
  /**
   * Signs each message (headers + payload) before the run, e.g. with DKIM for the inbound-checks mode; the
   * signing is done up front so the generator's own CPU does not count in the server's figures.
   */
  signer?: (message: Buffer) => Promise<Buffer>;
  /** Injected clock (ms, monotonic) and wall clock for the Date header. */
  now?: () => number;
  date?: () => Date;
}

export interface LoadResult {
  accepted: number;
  rejected: number; // a 4xx/5xx to MAIL, RCPT, DATA or the final dot
  errors: number; // connection-level failures (refused, reset, timeout)
  elapsedMs: number;
  latenciesMs: number[]; // MAIL sent -> 250 after the dot, accepted messages only
  setupMs: number[]; // connect started -> 250 to EHLO: what a connection costs before any mail
  firstErrors: string[]; // a few messages to show what went wrong
  pipelining: boolean; // the server advertised PIPELINING (RFC 2920) and we used it
  stoppedByDeadline: boolean;
}

/** Runs the load and resolves when every session has finished. Never rejects: failures are counted. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const now = o.now ?? (() => performance.now());
  const date = o.date ?? (() => new Date());
  const replyTimeoutMs = o.replyTimeoutMs ?? 30_000;
  const payload = buildPayload(o.size);
  const signed: Buffer[] = [];
  if (o.signer) {
    for (let i = 0; i < o.messages; i++) {
      const message = Buffer.concat([
        buildHeaders({ index: i, from: o.from, to: o.to, date: date() }),
        payload,
      ]);
      signed.push(await o.signer(message));
    }
  }
  const res: LoadResult = {
    accepted: 0,
    rejected: 0,
    errors: 0,
    elapsedMs: 0,
    latenciesMs: [],
    setupMs: [],
    firstErrors: [],
    pipelining: true,
    stoppedByDeadline: false,
  };
  const started = now();
  let claimed = 0;
  const claim = (): number | null => {
    if (claimed >= o.messages) return null;
    if (now() - started > o.deadlineMs) {
      res.stoppedByDeadline = true;
      return null;
    }
    return claimed++;
  };
  const note = (err: unknown): void => {
    if (err instanceof UnexpectedReply) res.rejected++;
    else res.errors++;
    if (res.firstErrors.length < 5) res.firstErrors.push(err instanceof Error ? err.message : String(err));
  };

  /** EHLO after the greeting; returns whether PIPELINING was offered. */
  const hello = async (c: BenchConnection, connectStarted: number): Promise<boolean> => {
    await c.expect(220, 'greeting');
    await c.write('EHLO bench-client.test\r\n');
    const ehlo = await c.expect(250, 'EHLO');
    res.setupMs.push(now() - connectStarted);
    return ehlo.lines.some((l) => /^PIPELINING\b/i.test(l));
  };

  /** One transaction; resolves when accepted, throws UnexpectedReply when refused or another error when the connection fails. */
  const send = async (c: BenchConnection, pipelining: boolean, index: number): Promise<void> => {
    const t0 = now();
    const cmds = [`MAIL FROM:<${o.from}>\r\n`, `RCPT TO:<${o.to}>\r\n`, 'DATA\r\n'];
    const replies = [];
    if (pipelining) {
      // RFC 2920 3.1: MAIL, RCPT and DATA may go in one write; the body waits for 354.
      await c.write(cmds.join(''));
      for (let i = 0; i < 3; i++) replies.push(await c.next());
    } else {
      for (const cmd of cmds) {
        await c.write(cmd);
        const r = await c.next();
        replies.push(r);
        if (r.code >= 400) break;
      }
    }
    const [mail, rcpt, data] = replies;
    if (!mail || !rcpt || !data || mail.code !== 250 || rcpt.code !== 250 || data.code !== 354) {
      // A server that answers 354 although MAIL or RCPT failed gets an empty body, so the session
      // stays in step; the message still counts as rejected.
      if (data?.code === 354) {
        await c.write(DATA_END);
        await c.next();
      }
      const bad = [mail, rcpt, data].find((r) => r && r.code !== 250 && r.code !== 354);
      await c.write('RSET\r\n');
      await c.next();
      throw new UnexpectedReply('transaction', bad ?? { code: 0, lines: ['missing reply'] });
    }
    if (o.signer) await c.write(signed[index]!, DATA_END);
    else await c.write(buildHeaders({ index, from: o.from, to: o.to, date: date() }), payload, DATA_END);
    await c.expect(250, 'end of DATA');
    res.latenciesMs.push(now() - t0);
    res.accepted++;
  };

  const sessionMany = async (): Promise<void> => {
    let c: BenchConnection | undefined;
    try {
      const t0 = now();
      c = await BenchConnection.open(o.host, o.port, replyTimeoutMs);
      const pipelining = await hello(c, t0);
      if (!pipelining) res.pipelining = false;
      for (let i = claim(); i !== null; i = claim()) {
        try {
          await send(c, pipelining, i);
        } catch (err) {
          note(err);
          if (!(err instanceof UnexpectedReply)) return; // the connection is gone
        }
      }
      await c.write('QUIT\r\n');
      await c.expect(221, 'QUIT');
    } catch (err) {
      note(err);
    } finally {
      c?.close();
    }
  };

  const sessionOne = async (): Promise<void> => {
    for (let i = claim(); i !== null; i = claim()) {
      let c: BenchConnection | undefined;
      try {
        const t0 = now();
        c = await BenchConnection.open(o.host, o.port, replyTimeoutMs);
        const pipelining = await hello(c, t0);
        if (!pipelining) res.pipelining = false;
        await send(c, pipelining, i);
        await c.write('QUIT\r\n');
        await c.expect(221, 'QUIT');
      } catch (err) {
        note(err);
      } finally {
        c?.close();
      }
    }
  };

  const session = o.perConnection === 'many' ? sessionMany : sessionOne;
  await Promise.all(Array.from({ length: o.sessions }, () => session()));
  res.elapsedMs = now() - started;
  return res;
}
