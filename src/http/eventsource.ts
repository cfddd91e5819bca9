// JMAP push over EventSource (RFC 8620 7.3): every open text/event-stream response in one registry, fed by one subscription.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JmapUser } from '../jmap/core/engine.js';
import {
  filterStates,
  parseEventSourceQuery,
  pingEvent,
  stateEvent,
  type StateMap,
  type StateSource,
} from '../jmap/core/push.js';
import type { Ticker } from '../net/ticker.js';
import { httpProblem, sendProblem } from './responses.js';
import { API_SECURITY_HEADERS } from './security-headers.js';

/**
 * One open stream: plain data, no closures or timers of its own (issue 9: 1,000 idle streams must
 * cost <= 16 KiB each, most of which is Node's socket and HTTP objects; what is ours is kept small).
 */
interface Stream {
  res: ServerResponse;
  /** The signed-in user (an address): the account check ends the streams of a disabled or removed one. */
  username: string;
  types: ReadonlySet<string> | null;
  /** [store account id, JMAP account id] of the user's accounts. */
  accounts: readonly (readonly [number, string])[];
  /** 0: no pings. */
  pingSeconds: number;
  closeAfterState: boolean;
  /** When something was last written (ms), for the pings. */
  lastWriteAt: number;
}

/**
 * The EventSource streams of one server. One subscription to the state source dispatches each change
 * to the streams of that account (not every stream looks at every change); one `watch` per account
 * keeps other processes' changes coming while any stream of it is open; one shared ticker sends the
 * pings (a stream silent for `ping` seconds gets one, RFC 8620 7.3). Events for all streams that want
 * the same thing are encoded once and the same bytes written to each.
 */
export class EventSourceStreams {
  private readonly all = new Set<Stream>();
  private readonly byAccount = new Map<number, Set<Stream>>();
  private readonly watches = new Map<number, () => void>();
  private readonly pinging = new Set<Stream>();
  private readonly byResponse = new WeakMap<ServerResponse, Stream>();
  private unsubscribe: (() => void) | null = null;
  private untick: (() => void) | null = null;
  /** One 'close' listener for every response (a function, not a closure per stream). */
  private readonly onClose: (this: ServerResponse) => void;

  constructor(
    private readonly states: StateSource,
    private readonly ticker: Ticker,
    private readonly clock: () => number = Date.now,
  ) {
    const streams = this.all;
    const byResponse = this.byResponse;
    const remove = (stream: Stream) => this.remove(stream);
    this.onClose = function (this: ServerResponse) {
      const stream = byResponse.get(this);
      if (stream && streams.has(stream)) remove(stream);
    };
  }

  get size(): number {
    return this.all.size;
  }

  /**
   * Starts a stream of StateChange events for the user's accounts: the current states first (unless
   * closeafter=state, where the client long-polls for the next change), then each change of a wanted type.
   */
  serve(req: IncomingMessage, res: ServerResponse, user: JmapUser, query: URLSearchParams): void {
    // The client hung up while its credentials were checked: its 'close' has passed, so a stream added
    // now would never be removed (a leak per such request, and a watch on its account for ever).
    if (res.destroyed || req.socket.destroyed) return;
    const params = parseEventSourceQuery(query);
    if (typeof params === 'string') {
      sendProblem(res, httpProblem(400, 'Bad Request', params));
      return;
    }
    res.writeHead(200, {
      ...API_SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'X-Accel-Buffering': 'no', // a proxy must not hold events back
    });
    // Headers now, not with the first event: a long-polling client (closeafter=state) waits for them.
    res.flushHeaders();
    // No request timeout for a stream that is meant to stay open (ping keeps proxies from closing it).
    req.socket.setTimeout(0);
    const stream: Stream = {
      res,
      username: user.username,
      types: params.types,
      accounts: [...user.accounts.values()].map((a) => [a.storeId, a.id] as const),
      pingSeconds: params.pingSeconds,
      closeAfterState: params.closeAfterState,
      lastWriteAt: this.clock(),
    };
    this.add(stream);
    res.on('close', this.onClose);
    // The current states at once, so a (re)connecting client knows whether it missed something (RFC 8620 7.3).
    if (!params.closeAfterState) {
      const current: StateMap = {};
      for (const [storeId, accountId] of stream.accounts) current[accountId] = this.states.current(storeId);
      const wanted = filterStates(current, stream.types);
      if (wanted) this.write(stream, stateEvent(wanted));
    }
  }

  /** Ends every stream (shutdown). */
  closeAll(): void {
    for (const stream of [...this.all]) this.end(stream);
  }

  /** Ends the streams of users `check` gives a reason for (disabled or removed accounts); calls `ended` for each. */
  closeWhere(
    check: (username: string) => string | null,
    ended: (username: string, why: string) => void,
  ): number {
    let count = 0;
    for (const stream of [...this.all]) {
      const why = check(stream.username);
      if (why === null) continue;
      this.end(stream);
      ended(stream.username, why);
      count++;
    }
    return count;
  }

  private add(stream: Stream): void {
    this.all.add(stream);
    this.byResponse.set(stream.res, stream);
    this.unsubscribe ??= this.states.subscribe((storeId, changed) => this.dispatch(storeId, changed));
    for (const [storeId] of stream.accounts) {
      let set = this.byAccount.get(storeId);
      if (!set) {
        this.byAccount.set(storeId, (set = new Set()));
        this.watches.set(storeId, this.states.watch(storeId));
      }
      set.add(stream);
    }
    if (stream.pingSeconds > 0) {
      this.pinging.add(stream);
      this.untick ??= this.ticker.add((now) => this.ping(now));
    }
  }

  private remove(stream: Stream): void {
    this.all.delete(stream);
    this.pinging.delete(stream);
    for (const [storeId] of stream.accounts) {
      const set = this.byAccount.get(storeId);
      if (!set) continue;
      set.delete(stream);
      if (set.size === 0) {
        this.byAccount.delete(storeId);
        this.watches.get(storeId)?.();
        this.watches.delete(storeId);
      }
    }
    if (this.pinging.size === 0 && this.untick) {
      this.untick();
      this.untick = null;
    }
    if (this.all.size === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = null;
    }
  }

  private end(stream: Stream): void {
    if (this.all.has(stream)) this.remove(stream);
    if (!stream.res.writableEnded) stream.res.end();
  }

  private write(stream: Stream, event: string | Buffer): void {
    stream.res.write(event);
    stream.lastWriteAt = this.clock();
    if (stream.closeAfterState) this.end(stream);
  }

  /** One change of one account to its streams; the bytes are shared by all streams wanting every type. */
  private dispatch(storeId: number, changed: Record<string, string>): void {
    const streams = this.byAccount.get(storeId);
    if (!streams) return;
    let everything: Buffer | null = null;
    for (const stream of [...streams]) {
      const accountId = stream.accounts.find(([id]) => id === storeId)![1];
      if (stream.types === null) {
        everything ??= Buffer.from(stateEvent({ [accountId]: changed }));
        this.write(stream, everything);
        continue;
      }
      const wanted = filterStates({ [accountId]: changed }, stream.types);
      if (wanted) this.write(stream, stateEvent(wanted));
    }
  }

  /** A ping for each stream silent for its interval (within one tick, so never later than asked). */
  private ping(now: number): void {
    const slack = this.ticker.intervalMs;
    for (const stream of this.pinging) {
      if (now - stream.lastWriteAt >= stream.pingSeconds * 1000 - slack) {
        this.write(stream, pingEventBytes(stream.pingSeconds));
      }
    }
  }
}

/** Ping events by interval: a handful of distinct values, encoded once each. */
const PING_EVENTS = new Map<number, Buffer>();
function pingEventBytes(seconds: number): Buffer {
  let bytes = PING_EVENTS.get(seconds);
  if (!bytes) PING_EVENTS.set(seconds, (bytes = Buffer.from(pingEvent(seconds))));
  return bytes;
}
