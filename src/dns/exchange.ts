// One DNS question to one server: UDP first, TCP when the answer is truncated (RFC 1035 4.2, RFC 7766 5).
import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import * as packet from 'dns-packet';

export interface DnsServer {
  host: string;
  port: number;
}

/** Largest UDP answer we ask for (EDNS0, RFC 6891): 1232 avoids IP fragmentation (DNS flag day 2020). */
export const EDNS_UDP_SIZE = 1232;

/** A failure with node:dns's code, so callers treat ours and node's alike. */
export function dnsError(
  code: string,
  name: string,
  message?: string,
): Error & { code: string; hostname: string } {
  return Object.assign(new Error(`${message ?? code} ${name}`.trim()), { code, hostname: name });
}

/** "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353" -> host and port. */
export function parseDnsServer(text: string): DnsServer {
  if (isIP(text) !== 0) return { host: text, port: 53 };
  const m = /^(?:\[([^\]]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(text);
  if (!m) throw new Error(`not a DNS server address: ${text}`);
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}

function queryPacket(name: string, type: packet.RecordType): packet.Packet {
  return {
    type: 'query',
    id: Math.floor(Math.random() * 65536),
    // RFC 6840 5.7: a query with AD set asks a validating resolver to say whether the data was validated.
    flags: packet.RECURSION_DESIRED | packet.AUTHENTIC_DATA,
    questions: [{ type, name, class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: EDNS_UDP_SIZE,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ],
  };
}

/** An answer belongs to our question: same id and the same name and type (RFC 5452 9.1, against spoofed replies). */
function matches(reply: packet.DecodedPacket, query: packet.Packet): boolean {
  const q = query.questions?.[0];
  const r = reply.questions?.[0];
  return (
    reply.id === query.id &&
    r !== undefined &&
    q !== undefined &&
    r.type === q.type &&
    r.name.toLowerCase() === q.name.toLowerCase()
  );
}

function overUdp(server: DnsServer, query: packet.Packet, timeoutMs: number): Promise<packet.DecodedPacket> {
  const name = query.questions?.[0]?.name ?? '';
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(dnsError('ETIMEOUT', name, 'queryTimeout')), timeoutMs);
    const finish = (outcome: packet.DecodedPacket | Error) => {
      clearTimeout(timer);
      socket.close();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    socket.on('error', (e: NodeJS.ErrnoException) => finish(dnsError(e.code ?? 'ECONNREFUSED', name)));
    socket.on('message', (msg) => {
      let reply: packet.DecodedPacket;
      try {
        reply = packet.decode(msg);
      } catch {
        return; // not a DNS message: keep waiting for ours
      }
      if (matches(reply, query)) finish(reply);
    });
    socket.send(packet.encode(query), server.port, server.host);
  });
}

function overTcp(server: DnsServer, query: packet.Packet, timeoutMs: number): Promise<packet.DecodedPacket> {
  const name = query.questions?.[0]?.name ?? '';
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    const timer = setTimeout(() => finish(dnsError('ETIMEOUT', name, 'queryTimeout')), timeoutMs);
    let buffered = Buffer.alloc(0);
    const finish = (outcome: packet.DecodedPacket | Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    socket.on('error', (e: NodeJS.ErrnoException) => finish(dnsError(e.code ?? 'ECONNREFUSED', name)));
    socket.on('connect', () => socket.write(packet.streamEncode(query)));
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length > 65537) return finish(dnsError('EBADRESP', name));
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
      try {
        const reply = packet.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        finish(matches(reply, query) ? reply : dnsError('EBADRESP', name));
      } catch {
        finish(dnsError('EBADRESP', name));
      }
    });
    socket.on('end', () => finish(dnsError('ECONNREFUSED', name)));
  });
}

/** Asks one server once; a truncated UDP answer is asked again over TCP. */
export async function exchange(
  server: DnsServer,
  name: string,
  type: packet.RecordType,
  timeoutMs: number,
): Promise<packet.DecodedPacket> {
  const query = queryPacket(name, type);
  const reply = await overUdp(server, query, timeoutMs);
  return reply.flag_tc ? overTcp(server, query, timeoutMs) : reply;
}
