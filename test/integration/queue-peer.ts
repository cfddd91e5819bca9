// Test helper: a scripted SMTP peer on 127.0.0.1:0 (node:net) whose replies each test decides; records what it got.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface PeerMessage {
  from: string;
  to: string[];
  data: Buffer;
}

export interface PeerScript {
  /** EHLO keywords after the greeting line (default PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES). */
  extensions?: string[];
  /** Reply to RCPT TO (address without brackets); default 250. `n` counts sessions (1-based). */
  rcpt?: (address: string, session: number) => string;
  /** Reply after the message data; default 250. */
  data?: (message: PeerMessage, session: number) => string;
  /** Reply to MAIL FROM; default 250. */
  mail?: (from: string, session: number) => string;
  /** Reply to AUTH (the whole command line); default 502. */
  auth?: (line: string, session: number) => string;
  /** Wait this long before the greeting (a slow peer, so connections overlap). */
  greetDelayMs?: number;
}

export interface ScriptedPeer {
  port: number;
  messages: PeerMessage[];
  sessions: number;
  /** Each session's client address (remoteAddress), in order. */
  clients: string[];
  /** Most connections open at once. */
  maxOpen: number;
  transcript: string[];
  close(): Promise<void>;
}

export async function startPeer(script: PeerScript = {}): Promise<ScriptedPeer> {
  const peer: ScriptedPeer = {
    port: 0,
    messages: [],
    sessions: 0,
    clients: [],
    maxOpen: 0,
    transcript: [],
    close: async () => undefined,
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    peer.maxOpen = Math.max(peer.maxOpen, sockets.size);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const session = ++peer.sessions;
    peer.clients.push(socket.remoteAddress ?? '');
    let buf = Buffer.alloc(0);
    let inData = false;
    let from = '';
    let to: string[] = [];
    const say = (line: string) => {
      peer.transcript.push(`S${session}: ${line}`);
      socket.write(line + '\r\n');
    };
    const greet = () => say('220 peer.test ESMTP scripted');
    if (script.greetDelayMs) setTimeout(greet, script.greetDelayMs);
    else greet();
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          const raw = buf.subarray(0, end + 2);
          buf = buf.subarray(end + 5);
          inData = false;
          const data = Buffer.from(raw.toString('latin1').replace(/^\.\./gm, '.'), 'latin1');
          const message = { from, to, data };
          const reply = script.data?.(message, session) ?? '250 2.0.0 accepted';
          if (reply.startsWith('2')) peer.messages.push(message);
          say(reply);
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.subarray(0, nl).toString('utf8');
        buf = buf.subarray(nl + 2);
        peer.transcript.push(`C${session}: ${line}`);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') {
          const ext = script.extensions ?? ['PIPELINING', '8BITMIME', 'SIZE 10000000', 'ENHANCEDSTATUSCODES'];
          const lines = ['peer.test', ...ext];
          lines.forEach((l, i) => say(`250${i === lines.length - 1 ? ' ' : '-'}${l}`));
        } else if (verb === 'HELO') say('250 peer.test');
        else if (verb === 'MAIL') {
          from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          to = [];
          say(script.mail?.(from, session) ?? '250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          const address = /<([^>]*)>/.exec(line)?.[1] ?? '';
          const reply = script.rcpt?.(address, session) ?? '250 2.1.5 ok';
          if (reply.startsWith('2')) to.push(address);
          say(reply);
        } else if (verb === 'DATA') {
          if (to.length === 0) say('554 5.5.1 no valid recipients');
          else {
            inData = true;
            say('354 go ahead');
          }
        } else if (verb === 'AUTH' && script.auth) say(script.auth(line, session));
        else if (verb === 'RSET') say('250 2.0.0 ok');
        else if (verb === 'QUIT') {
          say('221 2.0.0 bye');
          socket.end();
        } else say('502 5.5.2 not implemented');
      }
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  peer.port = (server.address() as AddressInfo).port;
  peer.close = () =>
    new Promise<void>((done) => {
      for (const s of sockets) s.destroy();
      server.close(() => done());
    });
  return peer;
}
