// The I/O driver of ClientSession: sockets, timers, opportunistic STARTTLS, body streaming, the 8-bit downgrade.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { downgradeTo7Bit } from '../../mail/eightbit-downgrade.js';
import { ClientSession, type ClientSessionOptions } from './client-session.js';
import type { OutboundMessage } from './client-commands.js';
import { ReplyParser } from './reply-parser.js';
import { CLIENT_TIMEOUTS_MS, type ClientTimeouts, type RecipientResult } from './client-types.js';
import type { ConnectionPool } from './connection-pool.js';
import {
  checkPeer,
  policyEnforced,
  policyLabel,
  type HostTlsPolicy,
  type PeerCheck,
} from './tls-policy/host-policy.js';

/** Body bytes handed to the session per step: big enough for few syscalls, small enough to keep memory flat. */
export const BODY_CHUNK_BYTES = 64 * 1024;

/** How long a TCP connect may take before the next address is tried (RFC 5321 does not name one). */
export const CONNECT_TIMEOUT_MS = 30_000;

export interface ClientConnectionOptions {
  hostname: string;
  messages: OutboundMessage[];
  /** The bytes of a message as queued (read when its body is due, not before). */
  readBody(messageId: string): Promise<Buffer>;
  /**
   * The last step before a body goes out (DKIM signing, sender-auth/dkim-sign.ts), applied to the body as
   * read or, for a peer without 8BITMIME, to the downgraded one: a signature covers exactly what is sent.
   */
  finishBody?: (messageId: string, body: Buffer) => Promise<Buffer>;
  /** Called once per message, as soon as its result is known: the caller commits it at once. */
  onMessageDone(messageId: string, results: RecipientResult[], peer: PeerInfo): void;
  tls?: ClientSessionOptions['tls'];
  auth?: ClientSessionOptions['auth'];
  timeouts?: ClientTimeouts;
  connectTimeoutMs?: number;
  /** Test seam: how a TCP connection is opened. */
  connect?: (host: string, port: number) => Socket;
  /**
   * outbound.source_address: the local IP connections are made from (the one SPF and PTR name), for
   * peers of its family; peers of the other family get the system's choice ('' or absent: always).
   */
  sourceAddress?: string;
  /**
   * Idle connections kept per peer (connection-pool.ts): deliverToHosts takes one before connecting
   * and parks the connection after its last message instead of sending QUIT.
   */
  pool?: ConnectionPool;
  /** This host's TLS policy (DANE, MTA-STS; set per host by deliverToHosts from PolicyHost.tlsPolicy). */
  tlsPolicy?: HostTlsPolicy;
  /** Test seam (never a config key): the CAs trusted for MTA-STS's PKIX check instead of the system's. */
  tlsCa?: string[];
  /** The clock for certificate dates (DANE-TA); default the system's. */
  now?: () => Date;
  /** Each session's TLS outcome under its policy, for TLS-RPT (RFC 8460 4.3). */
  onTlsResult?: (host: string, address: string, policy: HostTlsPolicy | undefined, check: PeerCheck) => void;
}

/** What one run of messages over a connection changes between runs on the same (parked) connection. */
export type RunOptions = Pick<
  ClientConnectionOptions,
  'messages' | 'readBody' | 'onMessageDone' | 'finishBody'
>;

export interface SessionOutcome {
  connected: boolean;
  tls: boolean;
  /** The connection, idle and open, when the session was asked to keep it (keepOpen); else null. */
  parked: ParkedSession | null;
  /**
   * Messages of a run on a parked connection that died before the peer answered anything in that run
   * (it had closed the idle connection meanwhile): nothing of them reached it, so they were not
   * reported and go on a fresh connection.
   */
  unsent: string[];
}

/** An open, idle client session (every message done): more messages, or QUIT. */
export interface ParkedSession {
  /** Still open and idle. */
  readonly usable: boolean;
  /** Runs more messages on this connection (RSET, then as usual); once only per park. */
  run(run: RunOptions): Promise<SessionOutcome>;
  /** Sends QUIT and closes. */
  quit(): void;
  /** Called once when the connection closes (the peer hung up while idle, or quit()). */
  onClose(f: () => void): void;
}

/** Who answered: the host name for the DSN's Remote-MTA, whether TLS was used, whether it had DSN. */
export interface PeerInfo {
  host: string;
  address: string;
  port: number;
  tls: boolean;
  dsn: boolean;
}

/**
 * Runs one session against one address. Resolves when the session is over; every message gets
 * exactly one onMessageDone (deferred ones included), whatever the peer or the network do.
 */
export function runClientSession(
  address: string,
  host: string,
  port: number,
  options: ClientConnectionOptions & { keepOpen?: boolean },
): Promise<SessionOutcome> {
  return new Promise((resolveFirst) => {
    let resolveRun = resolveFirst;
    const session = new ClientSession({
      hostname: options.hostname,
      messages: options.messages,
      // RFC 7672 2.2 / RFC 8461 5: a DANE host or an enforced MTA-STS host gets TLS or nothing.
      tls:
        options.tlsPolicy && policyEnforced(options.tlsPolicy)
          ? 'required'
          : (options.tls ?? 'opportunistic'),
      ...(options.tlsPolicy ? { tlsPolicyLabel: policyLabel(options.tlsPolicy) } : {}),
      ...(options.auth ? { auth: options.auth } : {}),
      timeouts: options.timeouts ?? CLIENT_TIMEOUTS_MS,
      ...(options.keepOpen ? { keepOpen: true } : {}),
    });
    // The current run's callbacks (a parked connection runs several batches).
    let run: RunOptions = options;
    // Per run on a reused connection: replies seen, and results held back while none came (see unsent).
    let reused = false;
    let replies = 0;
    let unsent: string[] = [];
    const closeListeners: (() => void)[] = [];
    const parser = new ReplyParser();
    const peer = (): PeerInfo => ({ host, address, port, tls: session.tlsUsed, dsn: session.extensions.dsn });
    const source =
      options.sourceAddress && isIP(options.sourceAddress) === isIP(address) ? options.sourceAddress : '';
    let socket: Socket | TLSSocket = (
      options.connect ??
      ((h, p) => netConnect({ host: h, port: p, ...(source ? { localAddress: source } : {}) }))
    )(address, port);
    let connected = false;
    let done = false;
    let timer: NodeJS.Timeout | null = null;
    let upgrading = false;
    let tlsAttempted = false;
    const reportTls = (check: PeerCheck): void => {
      try {
        options.onTlsResult?.(host, address, options.tlsPolicy, check);
      } catch {
        // Reporting is bookkeeping: it never changes a delivery.
      }
    };
    // The body being fed: the buffer and how far it went; null when no body is due.
    let feed: { id: string; data: Buffer; offset: number } | null = null;
    const downgraded = new Map<string, Buffer>();

    const finish = (): void => {
      if (done) return;
      done = true;
      // Only a peer that answered EHLO/HELO (greeting + 1 reply) without STARTTLS counts as not offering it.
      if (connected && !tlsAttempted && options.tls !== 'none' && !reused && replies >= 2)
        reportTls({ ok: false, type: 'starttls-not-supported', reason: 'the peer did not offer STARTTLS' });
      if (timer) clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.on('error', () => undefined); // late errors after we are done are not news
      socket.destroy();
      resolveRun({ connected, tls: session.tlsUsed, parked: null, unsent });
      for (const f of closeListeners.splice(0)) f();
    };

    const parked: ParkedSession = {
      get usable() {
        return !done && session.idle;
      },
      run(next) {
        return new Promise((resolve) => {
          if (done || !session.idle) {
            resolve({
              connected,
              tls: session.tlsUsed,
              parked: null,
              unsent: next.messages.map((m) => m.id),
            });
            return;
          }
          resolveRun = resolve;
          run = next;
          reused = true;
          replies = 0;
          unsent = [];
          socket.ref();
          handle(session.addMessages(next.messages));
        });
      },
      quit() {
        if (!done) handle(session.quit());
      },
      onClose(f) {
        if (done) f();
        else closeListeners.push(f);
      },
    };

    const handle = (actions: ReturnType<ClientSession['start']>): void => {
      // One write (writev) for all the commands and body chunks of one step, not one syscall each:
      // a pipelined RSET/MAIL/RCPT.../DATA group (RFC 2920 3.1) leaves as one segment.
      const corked = socket;
      corked.cork();
      try {
        act(actions);
      } finally {
        corked.uncork();
      }
    };

    const act = (actions: ReturnType<ClientSession['start']>): void => {
      for (const a of actions) {
        if (done) return;
        switch (a.type) {
          case 'send':
            socket.write(a.data);
            break;
          case 'timeout':
            if (timer) clearTimeout(timer);
            timer = a.ms === null ? null : setTimeout(() => handle(session.onTimeout()), a.ms);
            break;
          case 'start-tls':
            startTls();
            break;
          case 'needs-downgrade':
            void downgrade(a.messageId);
            break;
          case 'send-body':
            void startBody(a.messageId);
            break;
          case 'want-body':
            wantBody();
            break;
          case 'abort-body':
            feed = null;
            break;
          case 'message-done':
            downgraded.delete(a.messageId);
            if (reused && replies === 0 && a.results.every((r) => r.outcome === 'deferred')) {
              // The parked connection was dead before this run got any answer: see SessionOutcome.unsent.
              unsent.push(a.messageId);
              break;
            }
            try {
              run.onMessageDone(a.messageId, a.results, peer());
            } catch (err) {
              // The caller could not record the result: end the session so nothing more is sent blind.
              handle(session.onConnectionLost(`recording the result failed: ${String(err)}`));
            }
            break;
          case 'idle':
            // Parked: kept open for the next batch to this peer; it must not keep the process alive.
            if (timer) clearTimeout(timer);
            timer = null;
            socket.unref();
            resolveRun({ connected, tls: session.tlsUsed, parked, unsent: [] });
            break;
          case 'close':
            finish();
            return;
        }
      }
    };

    const onData = (chunk: Buffer): void => {
      const parsed = parser.push(chunk);
      const error = parsed.error;
      for (const r of parsed.replies) {
        // A 421 as the first answer on a reused connection is the peer's idle timeout (RFC 5321 4.5.3.2.7)
        // racing our RSET: it took nothing, so it counts as no answer (the messages go on a fresh one).
        if (!(reused && replies === 0 && r.code === 421)) replies++;
        handle(session.onReply(r));
      }
      if (error && !done) handle(session.onConnectionLost(`malformed reply: ${error.message}`));
    };

    const attach = (s: Socket | TLSSocket): void => {
      s.on('data', onData);
      s.on('error', (err: Error) => handle(session.onConnectionLost(err.message)));
      s.on('close', () => {
        if (!upgrading) handle(session.onConnectionLost('connection closed by the peer'));
      });
    };

    const connectTimer = setTimeout(() => {
      if (!connected) {
        socket.destroy();
        handle(
          session.onConnectionLost(
            `connect timeout after ${options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS} ms`,
          ),
        );
      }
    }, options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      handle(session.start());
    });
    socket.once('close', () => clearTimeout(connectTimer));
    attach(socket);

    // RFC 3207 4: opportunistic TLS; an MX's certificate is rarely verifiable (RFC 7672 is for DANE), so
    // self-signed and mismatched certificates are accepted: encryption against passive listeners.
    const startTls = (): void => {
      upgrading = true;
      tlsAttempted = true;
      const policy = options.tlsPolicy;
      const plain = socket;
      plain.removeAllListeners('data');
      plain.removeAllListeners('close');
      plain.removeAllListeners('error');
      plain.on('error', () => undefined);
      const secure = tlsConnect({
        socket: plain,
        // Verification is ours, after the handshake (tls-policy/host-policy.ts): opportunistic hosts are
        // not verified at all, DANE ignores the PKIX verdict, MTA-STS needs it (with these roots).
        rejectUnauthorized: false,
        ...(options.tlsCa ? { ca: options.tlsCa } : {}),
        ...(isIP(host) ? {} : { servername: host }),
      });
      socket = secure;
      secure.once('secureConnect', () => {
        upgrading = false;
        const check = policy
          ? checkPeer(
              policy,
              {
                chainDer: peerChain(secure),
                pkixAuthorized: secure.authorized,
                pkixError: secure.authorizationError ? String(secure.authorizationError) : null,
              },
              (options.now ?? (() => new Date()))(),
            )
          : ({ ok: true } as const);
        reportTls(check);
        if (!check.ok && policy && policyEnforced(policy)) {
          handle(session.onTlsPolicyFailed(check.reason));
          return;
        }
        // RFC 8689 4.2.1: validated by the host's policy (DANE, MTA-STS), or else by PKIX with the name.
        const verified = policy
          ? check.ok && !(policy.kind === 'dane' && policy.tlsa.length === 0)
          : secure.authorized;
        handle(session.onTlsEstablished(verified));
      });
      secure.once('error', (err: Error) => {
        if (upgrading) {
          upgrading = false;
          reportTls({
            ok: false,
            type: 'validation-failure',
            reason: `TLS handshake failed: ${err.message}`,
          });
          handle(session.onTlsFailed(err.message));
        }
      });
      attach(secure);
    };

    const downgrade = async (id: string): Promise<void> => {
      try {
        const body = await run.readBody(id);
        // RFC 6152 3: re-encode the 8-bit parts; 8-bit addresses cannot be encoded (needs SMTPUTF8).
        const result = downgradeTo7Bit(body);
        if (done) return;
        if (result.needsSmtpUtf8) {
          handle(session.onDowngradeFailed('8-bit addresses or structured header fields'));
          return;
        }
        const finished = run.finishBody ? await run.finishBody(id, result.message) : result.message;
        if (done) return;
        downgraded.set(id, finished);
        handle(session.onDowngraded(finished.length));
      } catch (err) {
        if (!done) handle(session.onDowngradeFailed(err instanceof Error ? err.message : String(err)));
      }
    };

    const startBody = async (id: string): Promise<void> => {
      let data: Buffer;
      try {
        const ready = downgraded.get(id);
        if (ready) data = ready;
        else {
          const body = await run.readBody(id);
          data = run.finishBody ? await run.finishBody(id, body) : body;
        }
      } catch (err) {
        // Our store failed us: nothing the peer did; drop the connection, the message stays queued.
        if (!done) handle(session.onConnectionLost(`reading message ${id} failed: ${String(err)}`));
        return;
      }
      if (done) return;
      feed = { id, data, offset: 0 };
      feedNext();
    };

    // Backpressure: the next chunk is handed over only once the socket has drained (DESIGN habit 7).
    const wantBody = (): void => {
      if (!feed) return;
      if (socket.writableNeedDrain) socket.once('drain', () => setImmediate(feedNext));
      else setImmediate(feedNext);
    };

    const feedNext = (): void => {
      const f = feed;
      if (!f || done) return;
      if (f.offset >= f.data.length) {
        feed = null;
        handle(session.onBodyEnd());
        return;
      }
      const chunk = f.data.subarray(f.offset, f.offset + BODY_CHUNK_BYTES);
      f.offset += chunk.length;
      const actions = session.onBodyChunk(chunk);
      if (f.offset >= f.data.length && actions.some((a) => a.type === 'want-body')) {
        // The last chunk and the session wants more at once: end the body in the same write, so a
        // small message is one segment (body + ".") instead of two writes a turn apart.
        feed = null;
        handle([...actions.filter((a) => a.type !== 'want-body'), ...session.onBodyEnd()]);
        return;
      }
      handle(actions);
    };
  });
}

/** The certificates the peer sent, leaf first, as DER (getPeerCertificate(true) links them by issuer). */
function peerChain(secure: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  let cert = secure.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  const seen = new Set<DetailedPeerCertificate>();
  while (cert?.raw && !seen.has(cert) && chain.length < 16) {
    seen.add(cert);
    chain.push(cert.raw);
    cert = cert.issuerCertificate;
  }
  return chain;
}
