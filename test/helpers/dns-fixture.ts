// Test helper: an authoritative DNS fixture on 127.0.0.1 over UDP and TCP (dns-packet), answering from a zone table per test.
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import * as packet from 'dns-packet';

/** What one name holds. A name absent from the zone is NXDOMAIN; a name present without the asked type is NODATA. */
export interface FixtureRecords {
  a?: string[];
  aaaa?: string[];
  mx?: { preference: number; exchange: string }[];
  /** Each record: one string, or its character-strings (an SPF record over 255 octets needs several). */
  txt?: (string | string[])[];
  ptr?: string[];
  tlsa?: { usage: number; selector: number; matchingType: number; data: Buffer }[];
  /** The name is an alias: every type answers the CNAME and then the target's records. */
  cname?: string;
  /** Failure modes: SERVFAIL, REFUSED, or no answer at all (a timeout for the client). */
  fail?: 'servfail' | 'refused' | 'drop';
  /** Over UDP, answer with TC set and no records, so the client must retry over TCP. */
  truncate?: boolean;
  /** Answer TTL in seconds (default the fixture's ttl). */
  ttl?: number;
  /**
   * The name sits in an unsigned zone: answers that touch it (itself or through a CNAME) never carry the
   * AD bit, even from an `authenticated` fixture (RFC 4035 3.2.3: AD only when every RRset is secure).
   */
  insecure?: boolean;
}

export type FixtureZone = Record<string, FixtureRecords>;

export interface DnsFixtureOptions {
  /** Set the AD bit on answers, as a validating resolver does for DNSSEC-secure data. Default false. */
  authenticated?: boolean;
  /** TTL of answers (default 300) and of the SOA's negative TTL (RFC 2308, default 60). */
  ttl?: number;
  negativeTtl?: number;
}

export interface DnsFixture {
  port: number;
  /** "127.0.0.1:port", for [dns] servers. */
  address: string;
  /** Edit freely during a test; lookups read it each time. Names are lower case, without the trailing dot. */
  zone: FixtureZone;
  options: DnsFixtureOptions;
  /** Every question asked, in order, with its transport. */
  queries: { name: string; type: string; tcp: boolean }[];
  /** How many questions of that type for that name were asked (cache tests). */
  count(name: string, type: string): number;
  close(): Promise<void>;
}

const norm = (name: string) => name.toLowerCase().replace(/\.$/, '');

function recordsOf(name: string, type: string, entry: FixtureRecords, ttl: number): packet.Answer[] {
  const base = { name, ttl: entry.ttl ?? ttl, class: 'IN' as const };
  switch (type) {
    case 'A':
      return (entry.a ?? []).map((data) => ({ ...base, type: 'A', data }));
    case 'AAAA':
      return (entry.aaaa ?? []).map((data) => ({ ...base, type: 'AAAA', data }));
    case 'MX':
      return (entry.mx ?? []).map((m) => ({ ...base, type: 'MX', data: m }));
    case 'TXT':
      return (entry.txt ?? []).map((t) => ({ ...base, type: 'TXT', data: t }));
    case 'PTR':
      return (entry.ptr ?? []).map((data) => ({ ...base, type: 'PTR', data }));
    case 'TLSA':
      return (entry.tlsa ?? []).map((t) => ({
        ...base,
        type: 'TLSA',
        data: { usage: t.usage, selector: t.selector, matchingType: t.matchingType, certificate: t.data },
      }));
    default:
      return [];
  }
}

/** The reply to one query, or null to stay silent (drop). */
export function fixtureReply(
  query: packet.DecodedPacket,
  zone: FixtureZone,
  options: DnsFixtureOptions,
  tcp: boolean,
): packet.Packet | null {
  const question = query.questions?.[0];
  const ttl = options.ttl ?? 300;
  const reply: packet.Packet = {
    type: 'response',
    id: query.id,
    flags:
      packet.AUTHORITATIVE_ANSWER |
      ((query.flags ?? 0) & packet.RECURSION_DESIRED) |
      packet.RECURSION_AVAILABLE,
    questions: query.questions,
    answers: [],
    authorities: [],
  };
  if (!question) return reply;
  const answers: packet.Answer[] = [];
  let name = norm(question.name);
  let entry = Object.hasOwn(zone, name) ? zone[name] : undefined;
  let secure = entry?.insecure !== true;
  for (let hops = 0; entry?.cname && question.type !== 'CNAME' && hops < 8; hops++) {
    answers.push({ name, type: 'CNAME', ttl: entry.ttl ?? ttl, class: 'IN', data: entry.cname });
    name = norm(entry.cname);
    entry = Object.hasOwn(zone, name) ? zone[name] : undefined;
    if (entry?.insecure) secure = false;
  }
  if (entry?.fail === 'drop') return null;
  if (entry?.fail) {
    reply.flags = (reply.flags ?? 0) | (entry.fail === 'servfail' ? 2 : 5); // RCODE (RFC 1035 4.1.1)
    return reply;
  }
  if (entry?.truncate && !tcp) {
    reply.flags = (reply.flags ?? 0) | packet.TRUNCATED_RESPONSE;
    return reply;
  }
  if (entry) answers.push(...recordsOf(name, question.type, entry, ttl));
  reply.answers = answers;
  if (!entry && answers.length === 0) reply.flags = (reply.flags ?? 0) | 3; // NXDOMAIN
  if (answers.length === 0 || !entry) {
    // RFC 2308 3: a negative answer carries the zone's SOA; its TTL and MINIMUM bound the negative cache time.
    const negativeTtl = options.negativeTtl ?? 60;
    reply.authorities = [
      {
        name: name.split('.').slice(-2).join('.'),
        type: 'SOA',
        ttl: negativeTtl,
        class: 'IN',
        data: { mname: 'ns.fixture.test', rname: 'hostmaster.fixture.test', serial: 1, minimum: negativeTtl },
      },
    ];
  }
  if (options.authenticated && secure) reply.flags = (reply.flags ?? 0) | packet.AUTHENTIC_DATA;
  return reply;
}

export async function startDnsFixture(
  zone: FixtureZone = {},
  options: DnsFixtureOptions = {},
): Promise<DnsFixture> {
  const queries: DnsFixture['queries'] = [];
  const fixture = { zone, options };
  const handle = (msg: Buffer, tcp: boolean): Buffer | null => {
    let query: packet.DecodedPacket;
    try {
      query = packet.decode(msg);
    } catch {
      return null;
    }
    const q = query.questions?.[0];
    if (q) queries.push({ name: norm(q.name), type: q.type, tcp });
    const reply = fixtureReply(query, fixture.zone, fixture.options, tcp);
    return reply ? packet.encode(reply) : null;
  };

  const openUdp = () => {
    const socket = createSocket('udp4');
    socket.on('message', (msg, rinfo) => {
      const reply = handle(msg, false);
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    });
    return socket;
  };
  let udp = openUdp();
  const sockets = new Set<Socket>();
  const tcp = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      // RFC 1035 4.2.2: each message is prefixed by its two-octet length.
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const len = buffered.readUInt16BE(0);
        const reply = handle(buffered.subarray(2, 2 + len), true);
        buffered = buffered.subarray(2 + len);
        if (reply) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([prefix, reply]));
        }
      }
    });
  });
  // One port for both transports: bind TCP first on a free port, then UDP on the same number.
  for (let attempt = 0; ; attempt++) {
    await new Promise<void>((done) => tcp.listen(0, '127.0.0.1', done));
    const port = (tcp.address() as { port: number }).port;
    try {
      await new Promise<void>((done, fail) => {
        udp.once('error', fail);
        udp.bind(port, '127.0.0.1', () => {
          udp.off('error', fail);
          done();
        });
      });
      break;
    } catch (e) {
      try {
        udp.close();
      } catch {
        // never bound: nothing to close
      }
      udp = openUdp();
      await new Promise<void>((done) => tcp.close(() => done()));
      if (attempt > 20) throw e;
    }
  }
  const port = (tcp.address() as { port: number }).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    get zone() {
      return fixture.zone;
    },
    set zone(z: FixtureZone) {
      fixture.zone = z;
    },
    options,
    queries,
    count: (name, type) => queries.filter((q) => q.name === norm(name) && q.type === type).length,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((done) => tcp.close(() => done())),
        new Promise<void>((done) => udp.close(() => done())),
      ]);
    },
  };
}
