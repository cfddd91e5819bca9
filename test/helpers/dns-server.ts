// Test helper: a tiny authoritative DNS server over UDP on 127.0.0.1 (node:dgram), answering MX/A/AAAA from a table.
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

/** Records per name (lower case, no trailing dot). A name absent from the table is NXDOMAIN. */
export interface DnsTable {
  [name: string]: { mx?: { preference: number; exchange: string }[]; a?: string[]; aaaa?: string[] };
}

export interface TestDnsServer {
  port: number;
  /** "127.0.0.1:port", for outbound.dns_servers. */
  address: string;
  table: DnsTable;
  queries: { name: string; type: number }[];
  close(): Promise<void>;
}

const TYPE = { A: 1, MX: 15, AAAA: 28 } as const;

/** RFC 1035 4.1.4 names: labels, no compression on our side (answers point back at the question). */
function encodeName(name: string): Buffer {
  const parts = name === '' || name === '.' ? [] : name.replace(/\.$/, '').split('.');
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'ascii')])),
    Buffer.from([0]),
  ]);
}

function readName(msg: Buffer, offset: number): { name: string; end: number } | null {
  const labels: string[] = [];
  let i = offset;
  for (let guard = 0; guard < 128; guard++) {
    const len = msg[i];
    if (len === undefined) return null;
    if (len === 0) return { name: labels.join('.').toLowerCase(), end: i + 1 };
    if (len >= 0xc0) return null; // queries are not compressed
    labels.push(msg.toString('ascii', i + 1, i + 1 + len));
    i += 1 + len;
  }
  return null;
}

function ipv6Bytes(ip: string): Buffer {
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const b = Buffer.alloc(16);
  groups.forEach((g, k) => b.writeUInt16BE(parseInt(g, 16), k * 2));
  return b;
}

export function answer(
  query: Buffer,
  table: DnsTable,
  log?: { name: string; type: number }[],
): Buffer | null {
  if (query.length < 12) return null;
  const q = readName(query, 12);
  if (!q || query.length < q.end + 4) return null;
  const type = query.readUInt16BE(q.end);
  log?.push({ name: q.name, type });
  const entry = Object.hasOwn(table, q.name) ? table[q.name] : undefined;
  const rdatas: Buffer[] = [];
  if (entry && type === TYPE.MX)
    for (const mx of entry.mx ?? []) {
      const p = Buffer.alloc(2);
      p.writeUInt16BE(mx.preference);
      rdatas.push(Buffer.concat([p, encodeName(mx.exchange)]));
    }
  if (entry && type === TYPE.A)
    for (const a of entry.a ?? []) rdatas.push(Buffer.from(a.split('.').map(Number)));
  if (entry && type === TYPE.AAAA)
    for (const a of entry.aaaa ?? []) if (isIP(a) === 6) rdatas.push(ipv6Bytes(a));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // id
  // QR=1, AA=1, RD copied, RA=1; RCODE 3 (NXDOMAIN) for names not in the table (RFC 1035 4.1.1).
  const rd = (query[2] ?? 0) & 0x01;
  header[2] = 0x84 | rd;
  header[3] = 0x80 | (entry ? 0 : 3);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(rdatas.length, 6);
  const question = query.subarray(12, q.end + 4);
  const answers = rdatas.map((rdata) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(type, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, question, ...answers]);
}

export async function startDnsServer(table: DnsTable): Promise<TestDnsServer> {
  const socket: Socket = createSocket('udp4');
  const queries: { name: string; type: number }[] = [];
  socket.on('message', (msg, rinfo) => {
    const reply = answer(msg, table, queries);
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((done) => socket.bind(0, '127.0.0.1', done));
  const port = socket.address().port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    table,
    queries,
    close: () => new Promise<void>((done) => socket.close(() => done())),
  };
}
