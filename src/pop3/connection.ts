// The POP3 server's only socket code: lines to the session, replies and streamed messages out, STLS, autologout.
import type net from 'node:net';
import tls from 'node:tls';
import { DEFAULT_DEADLINES } from '../config/limits.js';
import type { DeadlineSettings } from '../config/schema.js';
import {
  ConnectionDeadlines,
  DEADLINE_TEXT,
  deadlineLimits,
  watchDeadlines,
  type DeadlineKind,
} from '../net/deadlines.js';
import { MailroomError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { BodyEncoder } from '../smtp/client/dot-stuff.js';
import type { MailStore } from '../store/mail-store.js';
import { LineReceiver } from './command-parser.js';
import { R } from './replies.js';
import {
  Pop3Session,
  type MessageRequest,
  type Pop3Event,
  type Pop3Policy,
  type Pop3Services,
} from './session.js';
import { TopFilter } from './top-filter.js';
import { drainThenDestroy } from '../net/close-drain.js';
import { drainedOrClosed } from '../net/drained-or-closed.js';
import { isLoopback } from '../net/loopback.js';
import { newSessionId } from '../net/session-id.js';
import { SessionEnd } from '../net/session-end.js';

/**
 * RFC 1939 3: "a POP3 server MAY have an inactivity autologout timer. Such a timer MUST be of at least
 * 10 minutes' duration." We use exactly 10 minutes, also as the bound on a client that stops reading.
 */
export const POP3_AUTOLOGOUT_MS = 10 * 60_000;

export interface Pop3ConnectionOptions {
  policy: Pop3Policy;
  services: Pop3Services;
  store: Pick<MailStore, 'openMessage'>;
  logger: Logger;
  /** For STLS; null when no certificate is loaded (then STLS is not offered). */
  secureContext: tls.SecureContext | null;
  /** Inactivity autologout; default POP3_AUTOLOGOUT_MS (tests shorten it). */
  autologoutMs?: number;
  /** Deadlines activity does not extend ([limits]); default DEFAULT_DEADLINES. */
  deadlines?: DeadlineSettings;
  /** Monotonic milliseconds for the deadlines; injected by tests. Default performance.now. */
  clock?: () => number;
  now?: () => Date;
  newSessionId?: () => string;
  onClose?: () => void;
}

export interface Pop3ConnectionHandle {
  /** Ends the session without UPDATE (nothing deleted) once the current command's reply is written. */
  shutdown(): void;
  /** The same, with `-ERR [AUTH] <reason>`, if `check` refuses its account (user disable/remove); 1 if so. */
  revalidate(check: (address: string) => string | null): number;
  /** Its socket has closed but a command still runs; shutdown waits for it before closing the store. */
  finishing(): boolean;
}

export function servePop3Connection(
  socket: net.Socket,
  options: Pop3ConnectionOptions,
): Pop3ConnectionHandle {
  const now = options.now ?? (() => new Date());
  const autologoutMs = options.autologoutMs ?? POP3_AUTOLOGOUT_MS;
  const log = options.logger.child({ session: options.newSessionId?.() ?? newSessionId() });
  const remoteAddress = socket.remoteAddress ?? '0.0.0.0';
  const session = new Pop3Session(options.policy, options.services, {
    remoteAddress,
    secure: socket instanceof tls.TLSSocket,
    loopback: isLoopback(remoteAddress),
  });
  const receiver = new LineReceiver();
  const started = now().getTime();
  let current: net.Socket = socket;
  let busy = false;
  const end = new SessionEnd(() => {
    // RFC 1939 6: a connection that ends without QUIT never enters UPDATE; the lock goes.
    session.close();
    log.info({ event: 'session-end', durationMs: now().getTime() - started, bytesOut }, 'pop3 session end');
    options.onClose?.();
  });
  let ended = false;
  let shutdownRequested = false;
  /** The last line when the session ends on request: shutdown's, or the account check's. */
  let endReply: string = R.shuttingDown;
  let timer: NodeJS.Timeout | undefined;
  let bytesOut = 0;
  const clock = options.clock ?? (() => performance.now());
  // POP3 has no message upload, so only the login and command-line deadlines can apply.
  const watch = watchDeadlines(
    new ConnectionDeadlines(deadlineLimits(options.deadlines ?? DEFAULT_DEADLINES, true), clock()),
    clock,
    onDeadline,
  );

  log.info(
    { event: 'session-start', remote: remoteAddress, secure: session.peer.secure },
    'pop3 session start',
  );

  const arm = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onTimeout, autologoutMs);
    timer.unref?.();
  };

  function onTimeout(): void {
    if (ended) return;
    // RFC 1939 3: an autologout closes "without entering the UPDATE state": nothing is deleted.
    log.info({ event: 'timeout', state: session.state.kind }, 'pop3 autologout');
    session.close();
    finish(R.autologout);
  }

  function onDeadline(kind: DeadlineKind): void {
    if (ended) return;
    log.info(
      { event: 'deadline-exceeded', protocol: 'pop3', ip: remoteAddress, deadline: kind },
      'pop3 deadline exceeded',
    );
    // As an autologout: nothing is deleted (RFC 1939 3).
    session.close();
    finish(R.deadline(DEADLINE_TEXT[kind]));
  }

  /** After a batch of commands: a started line keeps its deadline running; login ends that one. */
  function syncDeadlines(): void {
    const now = clock();
    if (session.state.kind === 'transaction') watch.deadlines.markLoggedIn();
    watch.deadlines.setPhase(receiver.partial ? 'line' : 'idle', now);
    watch.deadlines.release(now);
    watch.update();
  }

  function finish(last: string): void {
    if (ended) return;
    ended = true;
    if (timer) clearTimeout(timer);
    watch.stop();
    receiver.reset();
    current.removeListener('data', onData);
    drainThenDestroy(current, last);
  }

  function logEvents(events: Pop3Event[]): void {
    for (const e of events) {
      if (e.kind === 'auth') log.info({ event: 'auth', outcome: e.outcome, account: e.account }, 'auth');
      else if (e.kind === 'update')
        log.info({ event: 'update', removed: e.removed, account: e.account }, 'update');
      else log.error({ event: 'service-error', operation: e.operation, err: e.error }, 'service error');
    }
  }

  /** Writes; resolves once the socket can take more (backpressure) or the connection is gone. */
  function write(data: string | Buffer): Promise<void> {
    if (ended || data.length === 0) return Promise.resolve();
    bytesOut += data.length;
    if (current.write(data)) return Promise.resolve();
    arm(); // a client that stops reading is logged out like an idle one
    return drainedOrClosed(current);
  }

  /** RETR/TOP: opens the message first (so a vanished one gets -ERR), then streams it dot-stuffed (RFC 1939 3). */
  async function sendMessage(statusLine: string, request: MessageRequest): Promise<void> {
    let opened;
    try {
      opened = await options.store.openMessage(request.messageId);
    } catch (error) {
      // Expunged over IMAP or JMAP since this session listed it: an ordinary race, not a store fault.
      if (error instanceof MailroomError && error.code === 'NO_SUCH_MESSAGE') {
        log.info({ event: 'message-expunged', messageId: request.messageId }, 'message expunged meanwhile');
      } else {
        log.warn(
          { event: 'message-unavailable', messageId: request.messageId, err: error },
          'message unavailable',
        );
      }
      await write(R.messageVanished);
      return;
    }
    const encoder = new BodyEncoder(true);
    const top = request.topLines === null ? null : new TopFilter(request.topLines);
    try {
      await write(statusLine);
      for await (const chunk of opened.chunks) {
        if (ended) break;
        const piece = top ? top.push(chunk) : chunk;
        await write(encoder.write(piece));
        if (top?.done) break;
      }
    } finally {
      await opened.close();
    }
    // A failure mid-stream throws past here: the connection is closed (no way to send -ERR after +OK).
    await write(encoder.end());
  }

  function onData(chunk: Buffer): void {
    if (ended) return;
    receiver.feed(chunk);
    if (!busy) void pump();
  }

  async function pump(): Promise<void> {
    busy = true;
    watch.deadlines.hold(clock()); // our own work (authentication, streaming a message) is not the client's line
    current.pause(); // one command at a time (RFC 2449 6.6 PIPELINING): read nothing more meanwhile
    try {
      for (;;) {
        if (ended || shutdownRequested) break;
        receiver.limit = session.lineLimit;
        const line = receiver.next();
        if (line === null) break;
        arm();
        const output = await session.handle(line);
        logEvents(output.events);
        if (ended) return;
        if (output.action === 'close') return finish(output.reply);
        if (output.message) await sendMessage(output.reply, output.message);
        else await write(output.reply);
        if (output.action === 'start-tls') return startTls();
      }
    } catch (error) {
      log.error({ event: 'internal-error', err: error }, 'unexpected error in pop3 session');
      session.close();
      if (timer) clearTimeout(timer);
      ended = true;
      current.destroy(); // mid-stream: the client must not take a truncated message for a whole one
      return;
    } finally {
      busy = false;
      end.commandDone();
    }
    if (shutdownRequested) {
      session.close();
      return finish(endReply);
    }
    if (!ended) {
      syncDeadlines();
      arm();
      current.resume();
    }
  }

  /**
   * RFC 2595 4: after "+OK Begin TLS negotiation" the next bytes are the handshake; anything the client
   * pipelined after STLS is discarded (receiver.reset), never run as a command.
   */
  function startTls(): void {
    const context = options.secureContext;
    if (!context) {
      session.close();
      return finish(R.internalError);
    }
    receiver.reset();
    const plain = current;
    plain.removeListener('data', onData);
    plain.removeListener('close', onClose);
    plain.removeListener('error', onError);
    arm();
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: context });
    current = secure;
    secure.on('close', onClose);
    secure.on('error', onError);
    secure.once('secure', () => {
      session.tlsStarted();
      log.info({ event: 'stls', protocol: secure.getProtocol() }, 'tls started');
      secure.on('data', onData);
      arm();
    });
  }

  function onError(error: Error): void {
    log.debug({ event: 'socket-error', err: error }, 'socket error');
  }

  function onClose(): void {
    if (timer) clearTimeout(timer);
    watch.stop();
    ended = true;
    // A command still running (a PASS waiting for its password hash) ends first: a lock it takes is
    // released with the session's.
    end.socketClosed(busy);
  }

  current.on('data', onData);
  current.on('error', onError);
  current.on('close', onClose);
  void write(session.greet());
  arm();
  watch.update();
  return {
    finishing: () => end.finishing,
    shutdown() {
      if (ended || shutdownRequested) return;
      shutdownRequested = true;
      if (!busy) {
        session.close();
        finish(endReply);
      }
    },
    revalidate(check) {
      const st = session.state;
      if (ended || shutdownRequested || st.kind !== 'transaction') return 0;
      const why = check(st.account);
      if (why === null) return 0;
      log.info({ event: 'session-ended', protocol: 'pop3', account: st.account, reason: why }, why);
      // RFC 1939 has no unsolicited reply: a last -ERR line (RFC 3206 [AUTH]) and the close, without UPDATE.
      endReply = R.accountEnded(why);
      this.shutdown();
      return 1;
    },
  };
}
