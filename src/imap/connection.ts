// The IMAP server's only socket code: receiver -> parser -> session, responses out, APPEND spooling (append-spool.ts), STARTTLS, IDLE, timers.
import { unlink } from 'node:fs/promises';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { DEFAULT_DEADLINES, IMAP_COMPRESS, IMAP_PRELOGIN_INPUT } from '../config/limits.js';
import type { DeadlineSettings } from '../config/schema.js';
import {
  ConnectionDeadlines,
  DEADLINE_TEXT,
  deadlineLimits,
  watchDeadlines,
  type DeadlineKind,
} from '../net/deadlines.js';
import type { Logger } from '../observability/logger.js';
import { mailboxWatchOf, type AccountChange, type MailboxChange } from '../store/mailbox-watch.js';
import type { SpooledBody } from '../store/store.js';
import type { ImapPolicy, ImapServices, SessionAction } from './commands/context.js';
import { isParseError, parseImapCommand } from './proto/command-parser.js';
import {
  DEFAULT_RECEIVER_LIMITS,
  ImapCommandReceiver,
  type ReceiverEvent,
  type ReceiverLimits,
} from './proto/literal-receiver.js';
import { taggedStatus, untaggedStatus, type ResponsePart } from './proto/response-writer.js';
import { ImapSession } from './session.js';
import { AppendSpooler, appendStorageRefusal, STORAGE_REFUSAL } from './append-spool.js';
import { drainThenDestroy } from '../net/close-drain.js';
import { DeflateConnection } from '../net/deflate-connection.js';
import { isLoopback } from '../net/loopback.js';
import { SessionEnd } from '../net/session-end.js';
import { newSessionId } from '../net/session-id.js';

/** RFC 9051 5.4: the autologout timer must be at least 30 minutes; IDLE re-arms it (RFC 2177). */
export const AUTOLOGOUT_MS = 30 * 60_000;
/** Before login a client has no reason to linger: a short timer bounds unauthenticated sockets. */
export const PRELOGIN_TIMEOUT_MS = 60_000;
/** While idling, changes from another process are noticed by this poll (in-process ones by events at once). */
export const IDLE_POLL_MS = 1_000;
/** Response bytes gathered into one socket write: a few TLS records, small enough to stream a big FETCH. */
const WRITE_CHUNK = 64 * 1024;

export interface ImapConnectionOptions {
  services: Omit<ImapServices, 'discardBody'>;
  policy: ImapPolicy;
  logger: Logger;
  secureContext: tls.SecureContext | null;
  /** Receiver limits after login. */
  limits?: ReceiverLimits;
  /** Receiver limits before login (and after logout); default IMAP_PRELOGIN_INPUT. */
  preLoginLimits?: ReceiverLimits;
  autologoutMs?: number;
  /** Deadlines activity does not extend ([limits]); default DEFAULT_DEADLINES. */
  deadlines?: DeadlineSettings;
  /** Monotonic milliseconds for the deadlines; injected by tests. Default performance.now. */
  clock?: () => number;
  onClose?: () => void;
}

export interface ImapConnectionHandle {
  /** Server shutdown: `* BYE` and close (RFC 9051 7.1.5). */
  shutdown(): void;
  /** Ends the session with `* BYE <reason>` if `check` refuses its account (user disable/remove); 1 if so. */
  revalidate(check: (address: string) => string | null): number;
  /** Its socket has closed but a command still runs; shutdown waits for it before closing the store. */
  finishing(): boolean;
}

export function serveImapConnection(
  socket: net.Socket,
  options: ImapConnectionOptions,
): ImapConnectionHandle {
  const log = options.logger.child({ session: newSessionId() });
  const limits = options.limits ?? DEFAULT_RECEIVER_LIMITS;
  const services: ImapServices = {
    ...options.services,
    discardBody: (b: SpooledBody) => {
      if (b.kind === 'file') void unlink(b.path).catch(() => undefined);
    },
  };
  const remoteAddress = socket.remoteAddress ?? '0.0.0.0';
  const session = new ImapSession(services, options.policy, {
    remoteAddress,
    secure: socket instanceof tls.TLSSocket,
    loopback: isLoopback(remoteAddress),
  });
  const started = performance.now();
  // Every connection: who, and whether TLS (issue 11), as SMTP and POP3 log theirs.
  log.info(
    {
      event: 'session-start',
      protocol: 'imap',
      remote: remoteAddress,
      secure: socket instanceof tls.TLSSocket,
    },
    'imap session start',
  );
  const store = options.services.store;
  const preLogin: ReceiverLimits = options.preLoginLimits ?? { ...limits, ...IMAP_PRELOGIN_INPUT };
  // Issue 8: before login the receiver holds a few KiB at most, and no literal is invited for a
  // command the session's state does not allow (APPEND before login got "+" and 900 KB read).
  const receiver = new ImapCommandReceiver(preLogin);
  receiver.setAdmission((verb, sub) => session.admitLiteral(verb, sub));
  receiver.setAppendQuota((bytes, messages) => session.admitAppendSize(bytes, messages));
  /** The receiver's limits follow the session: wide once logged in, tight before. */
  const fitLimits = (): void => {
    const kind = session.state.kind;
    receiver.setLimits(kind === 'authenticated' || kind === 'selected' ? limits : preLogin);
  };
  /** What responses are written to and commands read from: the socket, then TLS over it, then DEFLATE. */
  let current: Duplex = socket;
  let busy = false;
  const end = new SessionEnd(() => {
    log.info(
      { event: 'session-end', protocol: 'imap', durationMs: Math.round(performance.now() - started) },
      'imap session end',
    );
    options.onClose?.();
  });
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  const spooler = new AppendSpooler(store.spoolDir, services.discardBody);
  let idling = false;
  let idlePoll: NodeJS.Timeout | undefined;
  const clock = options.clock ?? (() => performance.now());
  // Login within loginMs of connecting (as Dovecot's login processes); after it, lines and APPEND literals.
  const watch = watchDeadlines(
    new ConnectionDeadlines(deadlineLimits(options.deadlines ?? DEFAULT_DEADLINES, true), clock()),
    clock,
    onDeadline,
  );

  function onDeadline(kind: DeadlineKind): void {
    if (ended) return;
    log.info(
      { event: 'deadline-exceeded', protocol: 'imap', ip: remoteAddress, deadline: kind },
      'imap deadline exceeded',
    );
    close(session.bye(`Timeout: ${DEADLINE_TEXT[kind]}`));
  }

  /** After input was processed: what is read next starts or continues its deadline; login ends that one. */
  function syncDeadlines(): void {
    const now = clock();
    if (session.state.kind !== 'not-authenticated') watch.deadlines.markLoggedIn();
    watch.deadlines.setPhase(receiver.readPhase(), now);
    watch.deadlines.release(now);
    watch.update();
  }

  const arm = (): void => {
    if (timer) clearTimeout(timer);
    const ms =
      session.state.kind === 'not-authenticated'
        ? PRELOGIN_TIMEOUT_MS
        : (options.autologoutMs ?? AUTOLOGOUT_MS);
    timer = setTimeout(() => close(session.bye('Autologout; idle for too long')), ms);
    timer.unref?.();
  };

  /**
   * Writes a command's responses in few large chunks: one socket write (and one TLS record) per
   * response line made FETCH 1:* on 100k messages cost 100k writes.
   */
  function write(parts: readonly (ResponsePart | string)[]): void {
    if (ended) return;
    let batch: Buffer[] = [];
    let size = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      current.write(batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, size));
      batch = [];
      size = 0;
    };
    for (const p of parts) {
      // Streamed literals are not produced by this session (bodies are buffers); see report.
      if (typeof p !== 'string' && !Buffer.isBuffer(p)) continue;
      const b = typeof p === 'string' ? Buffer.from(p) : p;
      batch.push(b);
      size += b.length;
      if (size >= WRITE_CHUNK) flush();
    }
    flush();
  }

  function close(last: Buffer | null): void {
    if (ended) return;
    if (last) current.write(last);
    ended = true;
    stopIdle();
    fitNotifyWatch();
    if (timer) clearTimeout(timer);
    watch.stop();
    spooler.close();
    current.removeListener('data', onData);
    drainThenDestroy(current);
  }

  /** The account NOTIFY watches (RFC 5465), and how to stop; set after each command (fitNotifyWatch). */
  let notifyWatched: number | null = null;
  let notifyUnwatch: (() => void) | null = null;
  function fitNotifyWatch(): void {
    const account = ended ? null : session.notifyAccount;
    if (account === notifyWatched) return;
    notifyUnwatch?.();
    notifyUnwatch = null;
    notifyWatched = account;
    if (account !== null) notifyUnwatch = mailboxWatchOf(store.events).watchAccount(account, onAccountEvent);
  }
  const onAccountEvent = (e: AccountChange): void => {
    if (!session.noteChange(e.kind, e.mailboxId)) return;
    // A store event is emitted after its commit, inside whatever wrote it: report from a fresh tick.
    setImmediate(() => (idling ? pushIdleUpdates() : pushNotifications()));
  };
  /**
   * RFC 5465 3.1: after NOTIFY the client "listens for event notifications all the time (even when no
   * command is in progress)". Between commands the session reports at once; during one, the command's
   * end does (session.finish), and what comes while the client does not read waits (the session counts
   * it, up to NOTIFICATIONOVERFLOW).
   */
  function pushNotifications(): void {
    if (ended || busy || idling || upgrading || current.writableNeedDrain || !session.hasNotifications)
      return;
    busy = true;
    session
      .notifyUpdates()
      .then((parts) => {
        if (!ended) write(parts);
      })
      .catch((err: unknown) => log.error({ err }, 'notify update failed'))
      .finally(() => {
        busy = false;
        end.commandDone();
        fitNotifyWatch();
        if (!ended && missedInput) void pump();
      });
  }

  const onStoreEvent = (e: MailboxChange): void => {
    if (!idling) return;
    const st = session.state;
    if (st.kind === 'selected' && st.view.mailboxId === e.mailboxId) pushIdleUpdates();
  };
  /**
   * Idle updates may await the store (CONTEXT=SEARCH/SORT re-checks, RFC 5267 4): the session is busy
   * meanwhile, so DONE or a pipelined command waits for them and the view is not changed under them.
   */
  function pushIdleUpdates(): void {
    if (!idling || ended || busy) return;
    busy = true;
    session
      .idleUpdates()
      .then((parts) => {
        if (!ended) write(parts);
      })
      .catch((err: unknown) => log.error({ err }, 'idle update failed'))
      .finally(() => {
        busy = false;
        end.commandDone();
        // Input that arrived meanwhile found the session busy: process it now.
        if (!ended && missedInput) void pump();
      });
  }
  /** Ends this session's watch of its mailbox's changes (set while idling). */
  let unwatch: (() => void) | null = null;
  function startIdle(): void {
    idling = true;
    const st = session.state;
    // IDLE in the authenticated state (RFC 2177 allows it) has no mailbox to report on; when selected,
    // one store dispatch per mailbox serves every session (mailbox-watch.ts).
    if (st.kind === 'selected') unwatch = mailboxWatchOf(store.events).watch(st.view.mailboxId, onStoreEvent);
    idlePoll = setInterval(pushIdleUpdates, IDLE_POLL_MS);
    idlePoll.unref?.();
  }
  function stopIdle(): void {
    if (!idling) return;
    idling = false;
    unwatch?.();
    unwatch = null;
    if (idlePoll) clearInterval(idlePoll);
  }

  async function act(action: SessionAction): Promise<void> {
    switch (action.kind) {
      case 'none':
        return;
      case 'logout':
        close(null);
        return;
      case 'read-line':
        receiver.expectRawLine();
        if (action.purpose === 'idle') startIdle();
        return;
      case 'starttls':
        startTls();
        return;
      case 'compress':
        startCompress();
        return;
    }
  }

  async function onEvent(ev: ReceiverEvent): Promise<void> {
    switch (ev.kind) {
      case 'continue':
        current.write('+ Ready for literal data\r\n');
        return;
      case 'literal-start':
        spooler.start();
        return;
      case 'literal-chunk':
        await spooler.write(ev.bytes);
        return;
      case 'literal-end':
        await spooler.end();
        return;
      case 'reject':
        session.noteInvalid();
        spooler.drop();
        current.write(
          ev.tag !== null
            ? taggedStatus(ev.tag, ev.status, ev.code ? { name: ev.code } : null, ev.text)
            : untaggedStatus(ev.status === 'NO' ? 'NO' : 'BAD', null, ev.text),
        );
        return;
      case 'overflow':
        log.info({ event: 'input-overflow', state: session.state.kind }, 'imap input overflow; closing');
        close(Buffer.from(untaggedStatus('BYE', null, ev.text)));
        return;
      case 'line': {
        if (idling) stopIdle();
        const out = await session.continueLine(ev.line.toString('utf8'));
        fitLimits();
        write(out.parts);
        await act(out.action);
        return;
      }
      case 'command': {
        const cmd = parseImapCommand(ev.command);
        const { bodies: mine, failure } = spooler.take();
        if (failure !== null && !isParseError(cmd)) {
          log.warn({ event: 'append-spool-failed', err: String(failure) }, 'append spool write failed');
          for (const b of mine) services.discardBody(b);
          current.write(taggedStatus(cmd.tag, 'NO', ...appendStorageRefusal(failure)));
          return;
        }
        if (isParseError(cmd)) {
          session.noteInvalid();
          for (const b of mine) services.discardBody(b);
          current.write(
            cmd.tag !== null
              ? taggedStatus(cmd.tag, 'BAD', null, cmd.text)
              : untaggedStatus('BAD', null, cmd.text),
          );
          return;
        }
        const out = await session.handle(cmd, mine);
        fitLimits();
        write(out.parts);
        await act(out.action);
        return;
      }
    }
  }

  let awaitingDrain = false;
  /** Data arrived while an idle update held the session (pushIdleUpdates runs pump after it). */
  let missedInput = false;
  async function pump(): Promise<void> {
    if (busy || ended) {
      if (busy) missedInput = true;
      return;
    }
    missedInput = false;
    busy = true;
    current.pause();
    // Below the free-space floor APPEND literals are refused before "+" (a cached verdict: no syscall here).
    receiver.refuseAppends(options.services.storage?.isLow() ? STORAGE_REFUSAL : null);
    watch.deadlines.hold(clock()); // our own work (storage, authentication) is not the client's time
    try {
      for (;;) {
        if (ended) return;
        // A client pipelining commands without reading the responses gets no more of them until
        // it reads (issue 8: 64 KiB of junk lines made ~900 KB of BAD responses at once).
        if (current.writableNeedDrain) break;
        const ev = receiver.next();
        if (!ev) break;
        await onEvent(ev);
        if (session.tooManyInvalid) {
          log.info({ event: 'too-many-errors' }, 'imap: too many invalid commands before login; closing');
          close(session.bye('Too many invalid commands'));
        }
        if (ended || upgrading) return;
      }
    } catch (err) {
      log.error({ err }, 'imap session failed');
      close(Buffer.from(untaggedStatus('BYE', null, 'Internal error; closing')));
      return;
    } finally {
      busy = false;
      end.commandDone();
    }
    syncDeadlines();
    arm();
    fitNotifyWatch();
    if (session.hasNotifications) setImmediate(pushNotifications);
    // Reading and processing stop while the client does not read its responses (backpressure);
    // commands already received are processed once it does.
    if (!current.writableNeedDrain) current.resume();
    else if (!awaitingDrain) {
      awaitingDrain = true;
      current.once('drain', () => {
        awaitingDrain = false;
        void pump();
      });
    }
  }

  const onData = (chunk: Buffer): void => {
    watch.deadlines.received(chunk.length, clock());
    receiver.push(chunk);
    void pump();
  };

  let upgrading = false;
  /** RFC 9051 6.2.1: after the OK, the next bytes are the TLS handshake; pipelined plaintext is dropped. */
  function startTls(): void {
    upgrading = true;
    receiver.discardBuffered();
    const plain = current;
    plain.removeListener('data', onData);
    plain.pause();
    const secure = new tls.TLSSocket(plain, {
      isServer: true,
      secureContext: options.secureContext ?? undefined,
    });
    current = secure;
    secure.on('secure', () => {
      session.tlsStarted();
      log.info({ event: 'starttls', protocol: secure.getProtocol() }, 'tls started');
      upgrading = false;
      secure.on('data', onData);
      arm();
    });
    secure.on('error', (err) => {
      log.debug({ err: err.message }, 'tls error');
      secure.destroy();
    });
    secure.on('close', onClosed);
  }

  /**
   * RFC 4978 3: compression starts right after the tagged OK (already written uncompressed). Bytes the
   * receiver holds past the COMPRESS line are the client's first compressed ones: they are inflated.
   */
  function startCompress(): void {
    const inner = current;
    inner.removeListener('data', onData);
    const deflate = new DeflateConnection(inner, IMAP_COMPRESS, receiver.takeBuffered());
    current = deflate;
    deflate.on('data', onData);
    deflate.on('error', (err) => {
      log.debug({ err: err.message }, 'compressed stream error');
      deflate.destroy();
    });
    deflate.on('close', onClosed);
    log.info({ event: 'compress' }, 'deflate started');
  }

  let closed = false;
  function onClosed(): void {
    if (closed) return;
    closed = true;
    ended = true;
    stopIdle();
    fitNotifyWatch();
    if (timer) clearTimeout(timer);
    watch.stop();
    spooler.close();
    // A command still running (a LOGIN waiting for its password hash, a STORE committing) ends first.
    end.socketClosed(busy);
  }

  // Responses go out as soon as written: with Nagle, a reply written while an earlier one is unacknowledged
  // waits for the client's delayed ACK (up to 40 ms on Linux).
  socket.setNoDelay(true);
  socket.on('data', onData);
  socket.on('error', (err) => log.debug({ err: err.message }, 'socket error'));
  socket.on('close', () => {
    if (current === socket) onClosed();
  });
  socket.write(session.greeting());
  arm();
  watch.update();

  return {
    shutdown(): void {
      close(session.bye('Server shutting down'));
    },
    finishing: () => end.finishing,
    revalidate(check): number {
      const st = session.state;
      if (ended || (st.kind !== 'authenticated' && st.kind !== 'selected')) return 0;
      const why = check(st.account.address);
      if (why === null) return 0;
      // RFC 9051 7.1.5: BYE, then the server closes; the client shows the text and does not retry at once.
      log.info({ event: 'session-ended', protocol: 'imap', account: st.account.address, reason: why }, why);
      close(session.bye(why));
      return 1;
    },
  };
}
