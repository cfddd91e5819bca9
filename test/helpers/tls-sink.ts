// Test helper: a sink SMTP server on 127.0.0.1:0 with STARTTLS (RFC 3207) and a chosen certificate; records what it got.
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';

export interface SinkOptions {
  /** The certificate (and chain) presented after STARTTLS; absent: STARTTLS is not offered. */
  tls?: { cert: string; key: string };
  /** Extra EHLO keywords (e.g. REQUIRETLS). */
  extensions?: string[];
}

export interface SinkMessage {
  mailLine: string;
  to: string[];
  data: string;
  tls: boolean;
}

export interface TlsSink {
  port: number;
  messages: SinkMessage[];
  /** Sessions that completed a TLS handshake. */
  handshakes: number;
  options: SinkOptions;
  close(): Promise<void>;
}

/** `listen`: where (loopback) and on which port; a second sink on 127.0.0.2 with the first's port is a second MX host. */
export async function startTlsSink(
  options: SinkOptions,
  listen: { host: string; port: number } = { host: '127.0.0.1', port: 0 },
): Promise<TlsSink> {
  const sink: TlsSink = { port: 0, messages: [], handshakes: 0, options, close: async () => undefined };
  const sockets = new Set<Socket>();
  const server: Server = createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    let socket: Socket = raw;
    let tls = false;
    let buf = '';
    let inData = false;
    let mailLine = '';
    let to: string[] = [];
    const say = (line: string): void => void socket.write(line + '\r\n');
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          sink.messages.push({ mailLine, to, data: buf.slice(0, end + 2), tls });
          buf = buf.slice(end + 5);
          inData = false;
          say('250 2.0.0 accepted');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.split(' ')[0]?.toUpperCase() ?? '';
        if (verb === 'EHLO') {
          const ext = [...(sink.options.extensions ?? []), 'PIPELINING', '8BITMIME'];
          if (sink.options.tls && !tls) ext.push('STARTTLS');
          say('250-sink.test');
          ext.forEach((e, i) => say(`250${i === ext.length - 1 ? ' ' : '-'}${e}`));
        } else if (verb === 'STARTTLS' && sink.options.tls && !tls) {
          say('220 2.0.0 go ahead');
          raw.removeListener('data', onData);
          const secure = new TLSSocket(raw, {
            isServer: true,
            secureContext: createSecureContext({ cert: sink.options.tls.cert, key: sink.options.tls.key }),
          });
          secure.on('error', () => undefined);
          secure.once('secure', () => {
            sink.handshakes++;
          });
          secure.on('data', onData);
          socket = secure;
          tls = true;
          buf = '';
        } else if (verb === 'MAIL') {
          mailLine = line;
          to = [];
          say('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          say('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          say('354 go ahead');
        } else if (verb === 'RSET' || verb === 'NOOP') say('250 2.0.0 ok');
        else if (verb === 'QUIT') {
          say('221 2.0.0 bye');
          socket.end();
        } else say('502 5.5.2 not here');
      }
    };
    raw.on('data', onData);
    say('220 sink.test ESMTP');
  });
  await new Promise<void>((resolve) => server.listen(listen.port, listen.host, resolve));
  const address = server.address();
  sink.port = typeof address === 'object' && address ? address.port : 0;
  sink.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return sink;
}
