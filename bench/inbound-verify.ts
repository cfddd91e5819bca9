// Micro bench of the inbound checks alone (issue 10): checkMessage on RSA-2048-signed 4 KiB messages, CPU per message.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createInboundChecks } from '../src/inbound/checks.js';
import { createMailResolver } from '../src/dns/resolver.js';
import { DkimVerifyPool } from '../src/inbound/verify-pool.js';
import { buildHeaders, buildPayload } from './smtp/message.js';
import { startInboundSetup } from './smtp/inbound.js';

const { values: opt } = parseArgs({
  options: {
    messages: { type: 'string', default: '2000' },
    parallel: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '0' },
  },
});
const N = Number(opt.messages);
const P = Number(opt.parallel);
const SENDER = 'alice@sender.test';

const setup = await startInboundSetup('sender.test');
const payload = buildPayload(4096);
const messages: Buffer[] = [];
for (let i = 0; i < Math.min(N, 500); i++) {
  const m = Buffer.concat([
    buildHeaders({ index: i, from: SENDER, to: 'bob@example.test', date: new Date() }),
    payload,
  ]);
  messages.push(await setup.sign(m));
}
const pool = Number(opt.workers) > 0 ? new DkimVerifyPool({ size: Number(opt.workers) }) : undefined;
const resolver = createMailResolver({ servers: [setup.dns.address] });
const checks = createInboundChecks({
  settings: {
    greylisting: false,
    greylistDelayMs: 0,
    greetPauseMs: 0,
    dmarc: 'enforce',
    dmarcReports: false,
    dnsbl: [],
    trustedNetworks: [],
    verifyWorkers: Number(opt.workers),
  },
  hostname: 'mx.example.test',
  resolver,
  isLocalDomain: (d) => d === 'example.test',
  ...(pool ? { verifyPool: pool } : {}),
});
const context = { remoteAddress: '127.0.0.1', helo: 'bench-client.test', sender: SENDER };

/**
 * CPU of the main thread alone (process.cpuUsage counts the workers too): utime + stime of the task whose id is
 * the pid, in clock ticks (USER_HZ, 100 on Linux), so rounds of a second or more are exact to ~1%.
 */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime: fields 14 and 15 of proc(5)
}

async function round(): Promise<{ cpuMs: number; wallMs: number; mainMs: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: P }, async () => {
      while (next < N) {
        const m = messages[next++ % messages.length]!;
        const v = await checks.checkMessage({ kind: 'memory', chunks: [m], size: m.length }, context);
        if (v.action.kind !== 'deliver' || !v.header.includes('dkim=pass'))
          throw new Error(`not accepted: ${JSON.stringify(v)}`);
      }
    }),
  );
  const c = process.cpuUsage(cpu0);
  return {
    cpuMs: (c.user + c.system) / 1000,
    wallMs: performance.now() - t0,
    mainMs: mainThreadCpuMs() - main0,
  };
}
await round(); // warm the DNS cache and the JIT
if (Number(opt.workers) > 0) {
  // The workers start at the first message; rounds are measured once they take jobs.
  for (let i = 0; i < 100 && pool!.ready === 0; i++) await new Promise((r) => setTimeout(r, 50));
  await round();
}
const rows = [];
for (let r = 0; r < Number(opt.rounds); r++) rows.push(await round());
rows.sort((a, b) => a.cpuMs - b.cpuMs);
const med = rows[Math.floor(rows.length / 2)]!;
console.log(
  `checkMessage x${N} (${P} parallel, ${opt.workers} verify workers): CPU ${(med.cpuMs / N).toFixed(3)} ms/msg ` +
    `(main thread ${(med.mainMs / N).toFixed(3)}), wall ${((N / med.wallMs) * 1000).toFixed(0)} msgs/s; ` +
    `rounds CPU ms/msg ${rows.map((r) => (r.cpuMs / N).toFixed(3)).join(', ')}, main ${rows.map((r) => (r.mainMs / N).toFixed(3)).join(', ')}; ` +
    `dns ${JSON.stringify(resolver.stats())}` +
    (pool ? `; pool traffic ${JSON.stringify(pool.traffic)}` : ''),
);
await checks.close?.();
await setup.close();
