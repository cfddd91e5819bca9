// Micro bench of the inbound checks alone (issue 10): checkMessage on RSA-2048-signed 4 KiB messages, CPU per message.
import { parseArgs } from 'node:util';
import { createInboundChecks } from '../src/inbound/checks.js';
import { createMailResolver } from '../src/dns/resolver.js';
import { buildHeaders, buildPayload } from './smtp/message.js';
import { startInboundSetup } from './smtp/inbound.js';

const { values: opt } = parseArgs({
  options: {
    messages: { type: 'string', default: '2000' },
    parallel: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
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
  },
  hostname: 'mx.example.test',
  resolver,
  isLocalDomain: (d) => d === 'example.test',
});
const context = { remoteAddress: '127.0.0.1', helo: 'bench-client.test', sender: SENDER };

async function round(): Promise<{ cpuMs: number; wallMs: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
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
  return { cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - t0 };
}
await round(); // warm the DNS cache and the JIT
const rows = [];
for (let r = 0; r < Number(opt.rounds); r++) rows.push(await round());
rows.sort((a, b) => a.cpuMs - b.cpuMs);
const med = rows[Math.floor(rows.length / 2)]!;
console.log(
  `checkMessage x${N} (${P} parallel): CPU ${(med.cpuMs / N).toFixed(3)} ms/msg, wall ${((N / med.wallMs) * 1000).toFixed(0)} msgs/s; ` +
    `rounds CPU ms/msg ${rows.map((r) => (r.cpuMs / N).toFixed(3)).join(', ')}; dns ${JSON.stringify(resolver.stats())}`,
);
await setup.close();
