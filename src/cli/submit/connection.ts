// Socket I/O for `mailroom send`: drives the pure ClientSession over TCP, STARTTLS or implicit TLS, for one message.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { ClientSession } from '../../smtp/client/client-session.js';
import type { OutboundMessage } from '../../smtp/client/client-commands.js';
import { ReplyParser } from '../../smtp/client/reply-parser.js';
import type { ClientAction, RecipientResult } from '../../smtp/client/client-types.js';

/** A user waits for this command: a server that does not even accept the connection is reported quickly. */
const CONNECT_TIMEOUT_MS = 30_000;
/** Body bytes handed to the session per step; the socket's drain paces them (backpressure). */
const BODY_CHUNK = 64 * 1024;

export interface SubmitOptions {
  host: string;
  port: number;
  /** RFC 8314 submissions port: TLS from the first byte. */
  implicitTls: boolean;
  /** Our EHLO name. */
  ehloName: string;
  auth?: { username: string; password: string };
  message: OutboundMessage;
  data: Buffer;
  /** Builds the 7-bit form of the message for a server without 8BITMIME (RFC 6152 3). */
  sevenBit: () => Buffer;
}

export interface SubmitOutcome {
  results: RecipientResult[];
  /** From the server's final 250 ("... queued as ID"), when it named one. */
  queueId: string | null;
  tls: boolean;
}

/**
 * Submits one message and resolves with the per-recipient results; never rejects (connection trouble is a
 * deferred result with its reason). Certificates are not verified: this is a local user agent talking to
 * its own server, whose default certificate is self-signed (CONTRACT.md [tls]); the channel is still
 * encrypted and credentials never go in plaintext except over loopback.
 */
export function submitMessage(options: SubmitOptions): Promise<SubmitOutcome> {
  const loopback = options.host === 'localhost' || /^127\.|^::1$/.test(options.host);
  const session = new ClientSession({
    hostname: options.ehloName,
    messages: [options.message],
    tls: 'opportunistic',
    implicitTls: options.implicitTls,
    ...(options.auth ? { auth: { ...options.auth, allowPlaintextAuth: loopback } } : {}),
  });
  const servername = isIP(options.host) === 0 ? options.host : undefined;
  const tlsOptions = { rejectUnauthorized: false, ...(servername ? { servername } : {}) };

  return new Promise((resolve) => {
    const parser = new ReplyParser();
    let data = options.data;
    let bodyOffset = 0;
    let feeding = false;
    let timer: NodeJS.Timeout | undefined;
    let queueId: string | null = null;
    let done = false;
    let socket: Socket | TLSSocket = options.implicitTls
      ? tlsConnect({ host: options.host, port: options.port, ...tlsOptions })
      : netConnect({ host: options.host, port: options.port });
    socket.setTimeout(CONNECT_TIMEOUT_MS);

    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ results: session.results, queueId, tls: session.tlsUsed });
    };

    const onData = (chunk: Buffer): void => {
      const { replies, error } = parser.push(chunk);
      for (const reply of replies) run(session.onReply(reply));
      if (error) run(session.onConnectionLost(`malformed reply: ${error.message}`));
    };
    const onError = (error: Error): void => run(session.onConnectionLost(error.message));
    const onClose = (): void => {
      run(session.onConnectionLost('connection closed by the server'));
      finish();
    };
    const attach = (s: Socket | TLSSocket): void => {
      s.on('data', onData);
      s.on('error', onError);
      s.on('close', onClose);
    };
    const detach = (s: Socket | TLSSocket): void => {
      s.off('data', onData);
      s.off('error', onError);
      s.off('close', onClose);
    };

    const feedBody = (): void => {
      if (!feeding) return;
      if (bodyOffset >= data.length) {
        feeding = false;
        run(session.onBodyEnd());
        return;
      }
      const chunk = data.subarray(bodyOffset, bodyOffset + BODY_CHUNK);
      bodyOffset += chunk.length;
      run(session.onBodyChunk(chunk));
    };

    function run(actions: ClientAction[]): void {
      for (const action of actions) {
        if (done) return;
        switch (action.type) {
          case 'send':
            socket.write(action.data);
            break;
          case 'timeout':
            clearTimeout(timer);
            timer =
              action.ms === null ? undefined : setTimeout(() => run(session.onTimeout()), action.ms).unref();
            break;
          case 'start-tls': {
            // RFC 3207 4.2: the TLS handshake runs on the same connection; nothing is sent before it.
            const plain = socket;
            detach(plain);
            const secure = tlsConnect({ socket: plain, ...tlsOptions });
            socket = secure;
            let established = false;
            const failed = (reason: string): void => {
              if (established) return;
              established = true; // report once
              run(session.onTlsFailed(reason));
              finish();
            };
            secure.once('secureConnect', () => {
              established = true;
              attach(secure);
              run(session.onTlsEstablished());
            });
            secure.once('error', (error) => failed(error.message));
            secure.once('close', () => failed('connection closed during the TLS handshake'));
            break;
          }
          case 'needs-downgrade':
            data = options.sevenBit();
            run(session.onDowngraded(data.length));
            break;
          case 'send-body':
            bodyOffset = 0;
            feeding = true;
            setImmediate(feedBody);
            break;
          case 'want-body':
            // Wait for the socket to drain before handing over more: memory stays bounded.
            if (socket.writableNeedDrain) socket.once('drain', feedBody);
            else setImmediate(feedBody);
            break;
          case 'abort-body':
            feeding = false;
            break;
          case 'message-done':
            for (const r of action.results) {
              const match = r.reply ? /queued as ([A-Za-z0-9._-]+)/i.exec(r.reply.text) : null;
              if (r.outcome === 'delivered' && match?.[1]) queueId = match[1];
            }
            break;
          case 'close':
            socket.end();
            finish();
            break;
        }
      }
    }

    socket.once(options.implicitTls ? 'secureConnect' : 'connect', () => {
      socket.setTimeout(0);
      run(session.start());
    });
    socket.once('timeout', () => {
      run(session.onConnectionLost(`no connection within ${CONNECT_TIMEOUT_MS / 1000}s`));
      finish();
    });
    attach(socket);
  });
}
