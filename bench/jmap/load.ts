// The JMAP bench's clients: the newest-page loop over JMAP (HTTP keep-alive) and over IMAP (Dovecot), and idle EventSource streams.
import { request, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { ImapClient, type Endpoint } from '../imap/client.js';
import { percentile, perSecond } from '../lib/stats.js';
import { internalDate } from '../imap/messages.js';
import { HttpConnection, requestBytes, type HttpAnswer } from './http-client.js';

/** How many messages a page holds (issue 9: limit 50). */
export const PAGE = 50;

export interface PageFigures {
  pages: number;
  pagesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstErrors: string[];
  /** Server CPU over the timed loop, in cores (1.0 = one core busy all the time). */
  serverCores: number;
  /** The bench process's own CPU, in cores: near 1.0 would mean the generator is the limit. */
  generatorCores: number;
  /** Server CPU per page in ms (less noisy than pages/s on a shared machine: it does not count waiting). */
  serverCpuMsPerPage: number;
  /** Of that, the main thread's (ours only: its event loop; the rest is worker threads); NaN for a peer. */
  mainCpuMsPerPage: number;
  /** The bench process's own CPU per page in ms (it parses and checks every answer). */
  generatorCpuMsPerPage: number;
  peakMemKiB: number;
}

interface Probe {
  cpuSeconds(): number;
  /** CPU seconds of the server's main thread alone (ours); absent for a peer. */
  mainCpuSeconds?(): number;
  memoryKiB(): number;
}

/** One page fetch: resolves with an error text, or null when the page was right. */
type PageFn = () => Promise<string | null>;

/**
 * Closed loop: `clients` loops each run `page` one after another for `seconds`; latency from send to
 * the whole checked answer. Every loop is bounded by the deadline (and a page by its own timeout).
 */
async function closedLoop(pages: PageFn[], seconds: number, probe: Probe): Promise<PageFigures> {
  const latencies: number[] = [];
  const firstErrors: string[] = [];
  let errors = 0;
  let peak = probe.memoryKiB();
  const sampler = setInterval(() => (peak = Math.max(peak, probe.memoryKiB())), 250);
  const cpu0 = probe.cpuSeconds();
  const main0 = probe.mainCpuSeconds?.() ?? NaN;
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    pages.map(async (page) => {
      while (performance.now() < deadline) {
        const s = performance.now();
        let error: string | null;
        try {
          error = await page();
        } catch (err) {
          error = err instanceof Error ? err.message : String(err);
        }
        latencies.push(performance.now() - s);
        if (error !== null) {
          errors++;
          if (firstErrors.length < 3) firstErrors.push(error.slice(0, 200));
        }
      }
    }),
  );
  const elapsed = performance.now() - t0;
  clearInterval(sampler);
  const own = process.cpuUsage(own0);
  const serverCpu = probe.cpuSeconds() - cpu0;
  const mainCpu = (probe.mainCpuSeconds?.() ?? NaN) - main0;
  const done = Math.max(1, latencies.length);
  return {
    pages: latencies.length,
    pagesPerSec: perSecond(latencies.length, elapsed),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
    firstErrors,
    serverCores: serverCpu / (elapsed / 1000),
    generatorCores: (own.user + own.system) / 1000 / elapsed,
    serverCpuMsPerPage: (serverCpu * 1000) / done,
    mainCpuMsPerPage: (mainCpu * 1000) / done,
    generatorCpuMsPerPage: (own.user + own.system) / 1000 / done,
    peakMemKiB: Math.max(peak, probe.memoryKiB()),
  };
}

// ---- JMAP

export interface JmapTarget extends Probe {
  port: number;
  user: string;
  password: string;
  count: number;
}

/** One call on a connection (not timed here): the request bytes built for it, the answer read by HttpConnection. */
function httpCall(
  conn: HttpConnection,
  port: number,
  method: 'GET' | 'POST',
  path: string,
  auth: string,
  body?: string,
): Promise<HttpAnswer> {
  return conn.send(requestBytes(method, path, port, jmapHeaders(auth, body !== undefined), body));
}

/** The headers of every bench request (Authorization: Basic, JSON in and out). */
function jmapHeaders(auth: string, withBody: boolean): Record<string, string> {
  return {
    Authorization: auth,
    Accept: 'application/json',
    ...(withBody ? { 'Content-Type': 'application/json' } : {}),
  };
}

/** The one request of issue 9: Email/query (inMailbox, receivedAt desc, 50) + Email/get by back-reference. */
export function pageRequest(accountId: string, inboxId: string): string {
  return JSON.stringify({
    using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
    methodCalls: [
      [
        'Email/query',
        {
          accountId,
          filter: { inMailbox: inboxId },
          sort: [{ property: 'receivedAt', isAscending: false }],
          limit: PAGE,
        },
        'q',
      ],
      [
        'Email/get',
        {
          accountId,
          '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' },
          properties: ['from', 'subject', 'preview', 'keywords', 'receivedAt'],
        },
        'g',
      ],
    ],
  });
}

/**
 * Checks one answer: 200, Email/query then Email/get, 50 Emails newest first with every property,
 * the first one received at the newest message's INTERNALDATE. Null when right.
 */
export function checkPage(answer: HttpAnswer, count: number): string | null {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.body.slice(0, 120)}`;
  const r = JSON.parse(answer.body) as { methodResponses?: [string, Record<string, unknown>, string][] };
  const [q, g] = r.methodResponses ?? [];
  if (q?.[0] !== 'Email/query' || g?.[0] !== 'Email/get') {
    return `unexpected method responses: ${answer.body.slice(0, 160)}`;
  }
  const list = g[1].list as Record<string, unknown>[] | undefined;
  const want = Math.min(PAGE, count);
  if (!Array.isArray(list) || list.length !== want) return `Email/get listed ${list?.length} of ${want}`;
  for (const e of list) {
    for (const p of ['from', 'subject', 'preview', 'keywords', 'receivedAt']) {
      if (!(p in e)) return `an Email without ${p}`;
    }
  }
  const newest = internalDate(count - 1)
    .toISOString()
    .replace(/\.000Z$/, 'Z');
  if (list[0]?.receivedAt !== newest) return `first receivedAt ${String(list[0]?.receivedAt)}, not ${newest}`;
  return null;
}

/** Reads the session and finds INBOX (not timed): what every JMAP client does once. */
async function jmapSetup(t: JmapTarget, conn: HttpConnection, auth: string): Promise<{ body: string }> {
  const session = await httpCall(conn, t.port, 'GET', '/.well-known/jmap', auth);
  if (session.status !== 200) throw new Error(`session resource: HTTP ${session.status}`);
  const s = JSON.parse(session.body) as { primaryAccounts: Record<string, string> };
  const accountId = s.primaryAccounts['urn:ietf:params:jmap:mail'];
  if (!accountId) throw new Error('no primary mail account');
  const boxes = await httpCall(
    conn,
    t.port,
    'POST',
    '/jmap/api/',
    auth,
    JSON.stringify({
      using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
      methodCalls: [['Mailbox/query', { accountId, filter: { role: 'inbox' } }, 'm']],
    }),
  );
  const ids = (JSON.parse(boxes.body) as { methodResponses: [string, { ids?: string[] }][] })
    .methodResponses[0]?.[1].ids;
  if (boxes.status !== 200 || !ids?.[0]) throw new Error(`no INBOX: ${boxes.body.slice(0, 160)}`);
  return { body: pageRequest(accountId, ids[0]) };
}

/**
 * `clients` keep-alive connections (http-client.ts), each asking for the newest page in a loop: the same
 * request bytes each time, as the IMAP side sends the same FETCH.
 */
export async function jmapPages(t: JmapTarget, clients: number, seconds: number): Promise<PageFigures> {
  const auth = `Basic ${Buffer.from(`${t.user}:${t.password}`).toString('base64')}`;
  const conns = Array.from({ length: clients }, () => new HttpConnection(t.port));
  try {
    const { body } = await jmapSetup(t, conns[0] as HttpConnection, auth);
    const request = requestBytes('POST', '/jmap/api/', t.port, jmapHeaders(auth, true), body);
    const page = async (c: HttpConnection) => checkPage(await c.send(request), t.count);
    // Each connection made and used once before timing (TCP connect and the first request's warm-up).
    await Promise.all(conns.map(page));
    return await closedLoop(
      conns.map((c) => () => page(c)),
      seconds,
      t,
    );
  } finally {
    for (const c of conns) c.close();
  }
}

// ---- IMAP (the peer's best case)

export interface ImapPageTarget extends Probe {
  endpoint: Endpoint;
  user: string;
  password: string;
  count: number;
}

/** 50 FETCH responses with ENVELOPE and FLAGS for exactly the last 50 sequence numbers. Null when right. */
export function checkImapPage(
  c: { status: string; text: string; untagged: { text: string }[] },
  count: number,
): string | null {
  if (c.status !== 'OK') return `FETCH: ${c.text}`;
  const seen = new Set<number>();
  for (const u of c.untagged) {
    const m = /^(\d+) FETCH \(/.exec(u.text);
    if (!m) continue;
    if (!/ENVELOPE \(/.test(u.text) || !/FLAGS \(/.test(u.text))
      return `FETCH without ENVELOPE/FLAGS: ${u.text.slice(0, 80)}`;
    seen.add(Number(m[1]));
  }
  const want = Math.min(PAGE, count);
  if (seen.size !== want) return `${seen.size} FETCH responses, not ${want}`;
  if (!seen.has(count) || !seen.has(count - want + 1)) return 'FETCH responses for the wrong messages';
  return null;
}

/** `clients` IMAP sessions, logged in with INBOX selected (not timed), each FETCHing the last 50 in a loop. */
export async function imapPages(t: ImapPageTarget, clients: number, seconds: number): Promise<PageFigures> {
  const sessions: ImapClient[] = [];
  try {
    for (let i = 0; i < clients; i++) {
      const c = await ImapClient.open(t.endpoint);
      sessions.push(c);
      await c.login(t.user, t.password);
      const sel = await c.run('SELECT INBOX', { timeoutMs: 120_000 });
      if (sel.status !== 'OK') throw new Error(`SELECT INBOX: ${sel.text}`);
    }
    const range = `${Math.max(1, t.count - PAGE + 1)}:${t.count}`;
    const page = async (c: ImapClient): Promise<string | null> =>
      checkImapPage(await c.run(`FETCH ${range} (ENVELOPE FLAGS)`, { timeoutMs: 30_000 }), t.count);
    await Promise.all(sessions.map(page)); // warm-up, as for JMAP
    return await closedLoop(
      sessions.map((c) => () => page(c)),
      seconds,
      t,
    );
  } finally {
    await Promise.allSettled(sessions.map((c) => c.logout()));
  }
}

// ---- idle EventSource streams

export interface IdleFigures {
  streams: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  perStreamKiB: number;
  failed: number;
}

/**
 * Opens `n` EventSource streams (RFC 8620 7.3; ping=0, so they stay silent), 50 at a time, each on its
 * own connection; waits for every 200 and its first StateChange, settles, then
 * (RSS with all open − RSS before) / n. Closes them all.
 */
export async function idleStreams(
  t: JmapTarget,
  n: number,
  settle: () => Promise<void>,
): Promise<IdleFigures> {
  const auth = `Basic ${Buffer.from(`${t.user}:${t.password}`).toString('base64')}`;
  const open: IncomingMessage[] = [];
  let failed = 0;
  const openOne = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: t.port,
          path: '/jmap/eventsource/?types=*&closeafter=no&ping=0',
          agent: false,
          headers: { Authorization: auth, Accept: 'text/event-stream' },
        },
        (res) => {
          req.setTimeout(0); // the 30 s bound is for the answer; an open stream is meant to sit idle
          if (res.statusCode !== 200) {
            failed++;
            res.resume();
            return resolve();
          }
          open.push(res);
          res.once('data', () => resolve()); // the first StateChange (the current states)
          res.once('error', () => undefined);
        },
      );
      req.setTimeout(30_000, () => {
        failed++;
        req.destroy();
        resolve();
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end();
    });
  // One stream opened and closed first, so the baseline already has the HTTP and push code loaded and
  // the password verified (scrypt once; the verified cache after): what is left is per stream.
  await openOne();
  if (open.length !== 1) throw new Error('the EventSource URL did not answer with a stream');
  open.pop()?.destroy();
  failed = 0;
  await settle();
  const before = t.memoryKiB();
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, openOne));
  }
  await settle();
  const after = t.memoryKiB();
  for (const res of open) res.destroy();
  return {
    streams: open.length,
    rssBeforeKiB: before,
    rssAfterKiB: after,
    perStreamKiB: open.length > 0 ? (after - before) / open.length : NaN,
    failed,
  };
}
