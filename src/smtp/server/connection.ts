// The SMTP server's only socket code: feeds input to the session, writes its replies, STARTTLS, timeouts, backpressure.
import type net from 'node:net';
import tls from 'node:tls';
import { DEFAULT_DEADLINES } from '../../config/limits.js';
import type { DeadlineSettings } from '../../config/schema.js';
import {
  ConnectionDeadlines,
  DEADLINE_TEXT,
  deadlineLimits,
  watchDeadlines,
  type DeadlineKind,
} from '../../net/deadlines.js';
import type { Logger } from '../../observability/logger.js';
import type { SmtpPeer, SmtpPolicy, SmtpServices } from './services.js';
import { SmtpSession, type SessionEvent, type SessionOutput } from './session.js';
import { peerTrusted } from './inbound-checks.js';
import { earlyTalkerReply, formatReply } from '../reply-codes.js';
import { closeAfterQuit, drainThenDestroy } from '../../net/close-drain.js';
import { dnsblGreetingReply, type Reply } from '../reply-codes.js';
import { isLoopback } from '../../net/loopback.js';
import { SessionEnd } from '../../net/session-end.js';
import { newSessionId } from '../../net/session-id.js';

/** RFC 5321 4.5.3.2 server timeouts, in milliseconds. */
export interface SmtpTimeouts {
  /** Waiting for the next command: 5 minutes (4.5.3.2.7). */
  command: number;
  /** Waiting for the next piece of a DATA/BDAT body: 3 minutes (4.5.3.2.5). */
  dataBlock: number;
  /** Our own work after the final dot (storage): the client waits 10 minutes (4.5.3.2.6), so do we. */
  dataEnd: number;
}

export const DEFAULT_SMTP_TIMEOUTS: SmtpTimeouts = {
  command: 5 * 60_000,
  dataBlock: 3 * 60_000,
  dataEnd: 10 * 60_000,
};

export interface SmtpConnectionOptions {
  policy: SmtpPolicy;
  services: SmtpServices;
  logger: Logger;
  /** For STARTTLS; null when no certificate is loaded. */
  secureContext: tls.SecureContext | null;
  timeouts?: Partial<SmtpTimeouts>;
  /** Deadlines activity does not extend ([limits]); default DEFAULT_DEADLINES. */
  deadlines?: DeadlineSettings;
  /** Monotonic milliseconds for the deadlines; injected by tests. Default performance.now. */
  clock?: () => number;
  onClose?: () => void;
  /** Session ids for logs; injected so tests can be exact. Default: 12 random hex characters. */
  newSessionId?: () => string;
  /**
   * Milliseconds to wait before the 220 ([inbound] greet_pause, MX only); a client that sends anything
   * meanwhile is an early talker: 554 5.5.0 and the connection closed. 0 or absent: greet at once.
   */
  greetPauseMs?: number;
}

/** The remote end only: reading the local end costs a getsockname(2) per connection (~12 us), and nothing used it. */
function peerOf(socket: net.Socket): SmtpPeer {
  const remoteAddress = socket.remoteAddress ?? '0.0.0.0';
  const peer: SmtpPeer = {
    remoteAddress,
    remotePort: socket.remotePort ?? 0,
    secure: socket instanceof tls.TLSSocket,
    loopback: isLoopback(remoteAddress),
  };
  if (socket instanceof tls.TLSSocket) Object.assign(peer, tlsInfo(socket));
  return peer;
}

function tlsInfo(socket: tls.TLSSocket): { tlsProtocol?: string; tlsCipher?: string } {
  const info: { tlsProtocol?: string; tlsCipher?: string } = {};
  const protocol = socket.getProtocol();
  if (protocol) info.tlsProtocol = protocol;
  const cipher = socket.getCipher() as tls.CipherNameAndProtocol | undefined;
  if (cipher?.name) info.tlsCipher = cipher.name;
  return info;
}

/**
 * Serves one SMTP connection until it ends. Input is processed strictly in order: while the session works on
 * a chunk (including awaiting the spool or the store) the socket is paused, so bodies stream with
 * backpressure and pipelined commands run one after another (RFC 2920). Replies produced for one chunk are
 * written together; reading also stops while the client does not read its replies.
 */
/** What the server keeps of a running session: a way to end it politely when shutting down. */
export interface SmtpConnectionHandle {
  /**
   * Ends the session with 421 4.3.2. If a command is being processed (e.g. a delivery is being committed)
   * its reply is written first, so a client whose message was stored still gets its 250.
   */
  shutdown(): void;
  /** The same with 421 4.7.0 <reason> if `check` refuses the AUTH account (user disable/remove); 1 if so. */
  revalidate(check: (address: string) => string | null): number;
  /** Its socket has closed but a command still runs; shutdown waits for it before closing the store. */
  finishing(): boolean;
}

export function serveSmtpConnection(
  socket: net.Socket,
  options: SmtpConnectionOptions,
): SmtpConnectionHandle {
  const timeouts: SmtpTimeouts = { ...DEFAULT_SMTP_TIMEOUTS, ...options.timeouts };
  const sessionId = options.newSessionId?.() ?? newSessionId();
  const log = options.logger.child({ session: sessionId });
  const session = new SmtpSession({
    policy: options.policy,
    services: options.services,
    peer: peerOf(socket),
  });
  const started = options.services.now().getTime();
  let current: net.Socket = socket;
  let queue: Buffer[] = [];
  let busy = false;
  const end = new SessionEnd(() => {
    log.info(
      { event: 'session-end', durationMs: options.services.now().getTime() - started, accepted },
      'smtp session end',
    );
    options.onClose?.();
  });
  let ended = false;
  let waitingForDrain = false;
  let timer: NodeJS.Timeout | undefined;
  let accepted = 0;
  let shutdownRequested = false;
  /** The last reply when the session ends on request: shutdown's 421 4.3.2, or the account check's. */
  let endReplies = (): string => session.shuttingDown().replies;
  const clock = options.clock ?? (() => performance.now());
  // MX has no login to wait for, so its whole session is bounded instead; submission must AUTH in time.
  const watch = watchDeadlines(
    new ConnectionDeadlines(
      deadlineLimits(options.deadlines ?? DEFAULT_DEADLINES, options.policy.requireAuth),
      clock(),
    ),
    clock,
    onDeadline,
  );

  log.info(
    {
      event: 'session-start',
      role: options.policy.role,
      remote: session.peer.remoteAddress,
      secure: session.peer.secure,
    },
    'smtp session start',
  );

  const arm = (ms: number) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onTimeout, ms);
    timer.unref?.();
  };
  const armForInput = () => arm(session.waitKind() === 'data' ? timeouts.dataBlock : timeouts.command);

  function onTimeout(): void {
    if (ended) return;
    log.info({ event: 'timeout', state: session.state.kind }, 'smtp session timed out');
    const out = session.timedOut();
    finish(out.replies);
  }

  function onDeadline(kind: DeadlineKind): void {
    if (ended) return;
    log.info(
      { event: 'deadline-exceeded', protocol: 'smtp', ip: session.peer.remoteAddress, deadline: kind },
      'smtp deadline exceeded',
    );
    finish(session.timedOut(DEADLINE_TEXT[kind]).replies);
  }

  /** After input was processed: what is read next starts or continues its deadline; login ends that one. */
  function syncDeadlines(): void {
    const now = clock();
    if (session.authenticatedAs !== null) watch.deadlines.markLoggedIn();
    watch.deadlines.setPhase(session.readPhase(), now);
    watch.deadlines.release(now);
    watch.update();
  }

  /** Writes, then closes the connection gracefully (the peer sees our last reply); `quit`: the client asked to. */
  function finish(last: string, quit = false): void {
    if (ended) return;
    ended = true;
    if (timer) clearTimeout(timer);
    watch.stop();
    queue = [];
    current.removeListener('data', onData);
    if (quit) closeAfterQuit(current, last);
    else drainThenDestroy(current, last);
  }

  function logEvents(events: SessionEvent[]): void {
    for (const e of events) {
      switch (e.kind) {
        case 'accepted':
          accepted++;
          // The envelope and the Message-ID: what an admin searches for when a user asks "did it arrive?".
          log.info(
            {
              event: 'message-accepted',
              queueId: e.queueId,
              messageId: e.messageId,
              from: e.sender,
              to: e.recipients,
              size: e.size,
              account: session.authenticatedAs ?? undefined,
              auth: e.auth,
            },
            'accepted',
          );
          break;
        case 'reply-error':
          log.info(
            {
              event: 'reply-error',
              ip: session.peer.remoteAddress,
              command: e.command,
              code: e.code,
              enhanced: e.enhanced,
              text: e.text,
            },
            'smtp refusal',
          );
          break;
        case 'service-error':
          log.error({ event: 'service-error', operation: e.operation, err: e.error }, 'service error');
          break;
        case 'message-refused':
          log.info({ event: 'message-refused', reason: e.reason, domain: e.domain }, 'message refused');
          break;
        case 'inbound-checked':
          log.info(
            { event: 'inbound-checked', action: e.action, removedForged: e.removedForged },
            'inbound checks',
          );
          break;
        case 'auth':
          log.info({ event: 'auth', outcome: e.outcome, account: e.account }, 'auth');
          break;
        case 'greylisted':
          log.info(
            { event: 'greylisted', ip: session.peer.remoteAddress, sender: e.sender, recipient: e.recipient },
            'smtp rcpt greylisted',
          );
          break;
        case 'routing-loop':
          // The admin's aliases are broken (a race, or an account removed under a catch-all): say which.
          log.warn(
            { event: 'alias-loop', recipient: e.recipient, loop: e.loop },
            'smtp rcpt refused: alias loop (554 5.4.6)',
          );
          break;
        case 'junk-limit':
          log.info(
            { event: 'junk-limit', protocol: 'smtp', ip: session.peer.remoteAddress, commands: e.commands },
            'smtp too many commands without mail',
          );
          break;
      }
    }
  }

  function write(output: SessionOutput): boolean {
    logEvents(output.events);
    if (output.replies.length === 0 || ended) return true;
    return current.write(output.replies);
  }

  function onData(chunk: Buffer): void {
    if (ended) return;
    watch.deadlines.received(chunk.length, clock());
    queue.push(chunk);
    current.pause();
    if (!busy) void pump();
  }

  async function pump(): Promise<void> {
    busy = true;
    // Our own work (storage, authentication) does not count against the client's line or transfer.
    watch.deadlines.hold(clock());
    try {
      while (queue.length > 0 && !ended && !shutdownRequested) {
        const chunk = queue.shift() as Buffer;
        arm(timeouts.dataEnd); // bounds our own processing (storage) while the socket is paused
        const out = await session.feed(chunk);
        if (ended) return;
        if (out.action === 'close' || out.action === 'quit')
          return finish(out.replies, out.action === 'quit');
        const flowing = write(out);
        if (out.action === 'start-tls') return startTls();
        // Input the session left for later (its replies reached the backlog bound) goes first.
        if (out.rest) queue.unshift(out.rest);
        if (!flowing) {
          // The client is not reading replies: process and read nothing more until it does.
          waitingForDrain = true;
          current.once('drain', () => {
            waitingForDrain = false;
            if (busy || ended) return;
            if (queue.length > 0) void pump();
            else resume();
          });
          break;
        }
      }
    } catch (error) {
      log.error({ event: 'internal-error', err: error }, 'unexpected error in smtp session');
      return finish(session.internalError().replies);
    } finally {
      busy = false;
      end.commandDone();
    }
    if (ended) return;
    syncDeadlines();
    if (shutdownRequested) return finish(endReplies());
    if (!waitingForDrain) resume();
  }

  function resume(): void {
    if (ended) return;
    armForInput();
    current.resume();
  }

  /**
   * RFC 3207 4.2: after our 220, the next bytes must be the TLS handshake. Anything the client pipelined
   * after STARTTLS has already been dropped by the session; the plaintext socket stays paused so nothing
   * else is read as SMTP before the handshake.
   */
  function startTls(): void {
    const context = options.secureContext;
    if (!context) return finish(session.internalError().replies);
    queue = [];
    const plain = current;
    plain.removeListener('data', onData);
    plain.removeListener('close', onClose);
    plain.removeListener('error', onError);
    arm(timeouts.command);
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: context });
    current = secure;
    secure.on('close', onClose);
    secure.on('error', onError);
    secure.once('secure', () => {
      session.tlsStarted({
        ...(secure.getProtocol() ? { protocol: secure.getProtocol() as string } : {}),
        ...((secure.getCipher() as tls.CipherNameAndProtocol | undefined)?.name
          ? { cipher: secure.getCipher().name }
          : {}),
      });
      log.info({ event: 'starttls', protocol: secure.getProtocol() }, 'tls started');
      secure.on('data', onData);
      resume();
    });
  }

  function onError(error: Error): void {
    // Client resets and TLS failures are the peer's business: debug, not alarms.
    log.debug({ event: 'socket-error', err: error }, 'socket error');
  }

  function onClose(): void {
    if (timer) clearTimeout(timer);
    watch.stop();
    ended = true;
    session.abort();
    // A command still running (an AUTH waiting for its password hash, a delivery committing) ends first.
    end.socketClosed(busy);
  }

  current.on('error', onError);
  current.on('close', onClose);
  const checks = options.services.inbound;
  // DNSBL at connect (RFC 5782), asked during the greeting pause so the two waits overlap.
  const listed =
    checks && options.policy.role === 'mx' && !peerTrusted(session, checks)
      ? checks.checkClient(session.peer.remoteAddress)
      : null;
  const greetNow = (): void => {
    current.on('data', onData);
    if (!listed) {
      greet();
      return;
    }
    // Input waits (busy) until the lookup, bounded by DNSBL_TIMEOUT_MS, has answered.
    busy = true;
    arm(timeouts.command);
    void listed.then((listing) => {
      busy = false;
      end.commandDone();
      if (ended) return;
      if (listing) {
        log.info(
          {
            event: 'dnsbl-listed',
            ip: session.peer.remoteAddress,
            zone: listing.zone,
            reason: listing.reason,
          },
          'client listed by a DNS block list',
        );
      }
      greet(listing ? dnsblGreetingReply(options.policy.hostname, listing.zone, listing.reason) : undefined);
      if (shutdownRequested) finish(session.shuttingDown().replies);
      else if (queue.length > 0) void pump();
    });
  };
  const pauseMs = options.greetPauseMs ?? 0;
  if (pauseMs > 0) {
    // Postfix postscreen's pregreet test: a real client waits for the 220 (RFC 5321 3.1); spam software
    // often sends its whole dialogue at once. Nothing it sent is read as SMTP.
    const onEarly = (chunk: Buffer): void => {
      clearTimeout(pause);
      if (ended) return;
      log.info(
        { event: 'early-talker', ip: session.peer.remoteAddress, bytes: chunk.length },
        'smtp client spoke before the greeting',
      );
      session.abort();
      finish(formatReply(earlyTalkerReply(options.policy.hostname), true));
    };
    const pause = setTimeout(() => {
      current.removeListener('data', onEarly);
      if (!ended) greetNow();
    }, pauseMs);
    current.on('data', onEarly);
  } else {
    greetNow();
  }

  function greet(refusal?: Reply): void {
    write(session.greet(refusal));
    armForInput();
    watch.update();
  }
  return {
    finishing: () => end.finishing,
    shutdown() {
      if (ended || shutdownRequested) return;
      shutdownRequested = true;
      if (!busy) finish(endReplies());
    },
    revalidate(check) {
      const account = session.authenticatedAs;
      if (ended || shutdownRequested || account === null) return 0;
      const why = check(account);
      if (why === null) return 0;
      log.info({ event: 'session-ended', protocol: 'smtp', account, reason: why }, why);
      endReplies = () => session.accountEnded(why).replies;
      this.shutdown();
      return 1;
    },
  };
}
