// HTTP plumbing shared by the routes: JSON and problem-details answers, body reading with backpressure, per-account counters.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JmapRequestError, type ProblemDetails } from '../jmap/core/errors.js';
import { API_SECURITY_HEADERS } from './security-headers.js';

/** Sends a JSON body with the API security headers. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  sendJsonText(res, status, JSON.stringify(body), contentType);
}

/** Sends JSON already serialized (or UTF-8 bytes: a JMAP worker's answer) with the API security headers. */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  text: string | Uint8Array,
  contentType = 'application/json',
): void {
  res.writeHead(status, {
    ...API_SECURITY_HEADERS,
    'Content-Type': `${contentType}; charset=utf-8`,
    'Content-Length': typeof text === 'string' ? Buffer.byteLength(text) : text.byteLength,
  });
  res.end(text);
}

/** An RFC 7807 problem (RFC 8620 3.6.1); `extra` adds headers (WWW-Authenticate, Retry-After, Allow). */
export function sendProblem(
  res: ServerResponse,
  problem: ProblemDetails,
  extra: Record<string, string> = {},
): void {
  for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
  sendJson(res, problem.status, problem, 'application/problem+json');
}

export function httpProblem(status: number, title: string, detail: string): ProblemDetails {
  // RFC 7807 3.1: "about:blank" when the status says it all.
  return { type: 'about:blank', status, detail, ...{ title } };
}

export function limitProblem(status: number, limit: string, detail: string): ProblemDetails {
  return new JmapRequestError('limit', status, detail, limit).toProblem();
}

/**
 * Feeds the request body to `onChunk` with backpressure: a returned promise pauses reading until it
 * settles; `false` stops reading for good ('stopped'). Not a for-await loop: leaving one early
 * destroys the request and with it the socket, before the 413 that explains why has been sent.
 * 'aborted': the client hung up before the body's end, perhaps before this was called (node:http then
 * destroys the request without an 'error' for a listener that was not there yet): nothing is left to
 * answer, and the caller gives back what it holds instead of waiting for an 'end' that never comes.
 */
export function consume(
  req: IncomingMessage,
  onChunk: (chunk: Buffer) => boolean | void | Promise<void>,
): Promise<'done' | 'stopped' | 'aborted'> {
  if (req.destroyed && !req.readableEnded) return Promise.resolve('aborted');
  return new Promise((resolve, reject) => {
    let settled = false;
    const detach = () => {
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onStreamError);
      req.off('close', onClose);
    };
    const stop = (outcome: 'done' | 'stopped' | 'aborted') => {
      if (settled) return;
      detach();
      if (outcome === 'stopped') req.pause();
      resolve(outcome);
    };
    const fail = (error: Error) => {
      if (settled) return;
      detach();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      let verdict: boolean | void | Promise<void>;
      try {
        verdict = onChunk(chunk);
      } catch (error) {
        return fail(error as Error);
      }
      if (verdict === false) return stop('stopped');
      if (verdict instanceof Promise) {
        req.pause();
        verdict.then(() => {
          if (!settled) req.resume();
        }, fail);
      }
    };
    const onEnd = () => stop('done');
    // node:http's 'aborted' error (ECONNRESET) is the client hanging up; 'close' follows it either way.
    const onStreamError = (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? stop('aborted') : fail(error);
    const onClose = () => stop('aborted');
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onStreamError);
    req.once('close', onClose);
  });
}

/** Per-account counters of requests in progress (maxConcurrentRequests, maxConcurrentUpload). */
export class InFlight {
  private readonly counts = new Map<number, number>();
  /** Per key, requests waiting for a slot (enterOrWait), first come first served. */
  private readonly waiting = new Map<number, ((slot: boolean) => void)[]>();
  constructor(private readonly max: number) {}
  enter(key: number): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  /**
   * A slot now, or the first one freed within `maxWaitMs`; false when none came in time or
   * `maxWaiters` already wait for this key. The limit still bounds the work in progress per key; the
   * wait only spares a busy client a 429 for a slot freed a millisecond later (requests on worker
   * threads overlap, jmap-workers.ts). Time only for the timer: resolves, never rejects.
   */
  enterOrWait(key: number, maxWaitMs: number, maxWaiters: number): Promise<boolean> {
    if (this.enter(key)) return Promise.resolve(true);
    const queue = this.waiting.get(key) ?? [];
    if (queue.length >= maxWaiters || maxWaitMs <= 0) return Promise.resolve(false);
    this.waiting.set(key, queue);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const at = queue.indexOf(give);
        if (at >= 0) queue.splice(at, 1);
        if (queue.length === 0 && this.waiting.get(key) === queue) this.waiting.delete(key);
        resolve(false);
      }, maxWaitMs);
      function give(slot: boolean): void {
        clearTimeout(timer);
        resolve(slot);
      }
      queue.push(give);
    });
  }

  leave(key: number): void {
    // A freed slot passes straight to the first waiter: the count stays, and no newcomer jumps the queue.
    const queue = this.waiting.get(key);
    const next = queue?.shift();
    if (queue?.length === 0) this.waiting.delete(key);
    if (next) return next(true);
    const n = this.counts.get(key) ?? 0;
    if (n <= 1) this.counts.delete(key);
    else this.counts.set(key, n - 1);
  }
}
