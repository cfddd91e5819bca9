// The IMAP server's only socket code: receiver -> parser -> session, responses out, APPEND spooling, STARTTLS, IDLE, timers.
import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import type net from 'node:net';
import tls from 'node:tls';
import { IMAP_PRELOGIN_INPUT, SPOOL_MEMORY_THRESHOLD } from '../config/limits.js';
import type { Logger } from '../observability/logger.js';
import { createBodySpool } from '../store/spool.js';
import type { SpooledBody } from '../store/store.js';
import type { BodySpool } from '../smtp/server/services.js';
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
  onClose?: () => void;
}

export interface ImapConnectionHandle {
  /** Server shutdown: `* BYE` and close (RFC 9051 7.1.5). */
  shutdown(): void;
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

export function serveImapConnection(
  socket: net.Socket,
  options: ImapConnectionOptions,
): ImapConnectionHandle {
  const log = options.logger.child({ session: randomBytes(6).toString('hex') });
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
  const store = options.services.store;
  const preLogin: ReceiverLimits = options.preLoginLimits ?? { ...limits, ...IMAP_PRELOGIN_INPUT };
  // Issue 8: before login the receiver holds a few KiB at most, and no literal is invited for a
  // command the session's state does not allow (APPEND before login got "+" and 900 KB read).
  const receiver = new ImapCommandReceiver(preLogin);
  receiver.setAdmission((verb, sub) => session.admitLiteral(verb, sub));
  /** The receiver's limits follow the session: wide once logged in, tight before. */
  const fitLimits = (): void => {
    const kind = session.state.kind;
    receiver.setLimits(kind === 'authenticated' || kind === 'selected' ? limits : preLogin);
  };
  let current: net.Socket = socket;
  let busy = false;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  let spool: BodySpool | null = null;
  let bodies: SpooledBody[] = [];
  let idling = false;
  let idlePoll: NodeJS.Timeout | undefined;

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
    if (timer) clearTimeout(timer);
    spool?.abort();
    for (const b of bodies) services.discardBody(b);
    bodies = [];
    current.end();
    // Whatever the client still sends is dropped as it arrives: a paused socket would hold up to a
    // read (64 KiB) plus its buffer until the destroy below, per connection (issue 8).
    current.removeListener('data', onData);
    current.resume();
    setTimeout(() => current.destroy(), 5_000).unref?.();
  }

  const onStoreEvent = (e: { accountId: number; mailboxId: number }): void => {
    if (!idling) return;
    const st = session.state;
    if (st.kind === 'selected' && st.view.mailboxId === e.mailboxId) pushIdleUpdates();
  };
  function pushIdleUpdates(): void {
    if (!idling || ended || busy) return;
    try {
      write(session.idleUpdates());
    } catch (err) {
      log.error({ err }, 'idle update failed');
    }
  }
  function startIdle(): void {
    idling = true;
    store.events.on('message', onStoreEvent);
    store.events.on('expunge', onStoreEvent);
    store.events.on('flags', onStoreEvent);
    idlePoll = setInterval(pushIdleUpdates, IDLE_POLL_MS);
    idlePoll.unref?.();
  }
  function stopIdle(): void {
    if (!idling) return;
    idling = false;
    store.events.off('message', onStoreEvent);
    store.events.off('expunge', onStoreEvent);
    store.events.off('flags', onStoreEvent);
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
    }
  }

  async function onEvent(ev: ReceiverEvent): Promise<void> {
    switch (ev.kind) {
      case 'continue':
        current.write('+ Ready for literal data\r\n');
        return;
      case 'literal-start':
        spool = createBodySpool(store.spoolDir, SPOOL_MEMORY_THRESHOLD);
        return;
      case 'literal-chunk': {
        const w = spool?.write(ev.bytes);
        if (w) await w;
        return;
      }
      case 'literal-end':
        if (spool) bodies.push(await spool.finish());
        spool = null;
        return;
      case 'reject':
        session.noteInvalid();
        spool?.abort();
        spool = null;
        for (const b of bodies) services.discardBody(b);
        bodies = [];
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
        const mine = bodies;
        bodies = [];
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
  async function pump(): Promise<void> {
    if (busy || ended) return;
    busy = true;
    current.pause();
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
    }
    arm();
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

  let closed = false;
  function onClosed(): void {
    if (closed) return;
    closed = true;
    ended = true;
    stopIdle();
    if (timer) clearTimeout(timer);
    spool?.abort();
    for (const b of bodies) services.discardBody(b);
    options.onClose?.();
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

  return {
    shutdown(): void {
      close(session.bye('Server shutting down'));
    },
  };
}
