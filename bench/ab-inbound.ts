// A/B of load (a) with inbound checks on between two builds (or two settings): messages signed once, builds alternating.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from './lib/wait.js';
import { startMailroom } from './peers/mailroom.js';
import { measureThroughput, SENDER, warmUp, warmupShareOf } from './smtp/measure.js';
import { benchPlan } from './smtp/loads.js';
import { reusingSigner, startInboundSetup } from './smtp/inbound.js';

/*
 * Why a bench of its own: on a shared VM the machine's speed drifts by 20-30% within minutes, more than most
 * changes move the checks-on figure, and `bench/run.ts` spends ~13 s signing 10,000 messages before every
 * round. Here they are signed once, and the two servers take turns (A B, B A, ...), so each pair of rounds
 * ran on about the same machine: count the pairs each side won as well as the medians.
 */
const { values: opt } = parseArgs({
  options: {
    a: { type: 'string' }, // the baseline's dist/cli.js (e.g. a worktree of the commit before)
    b: { type: 'string' }, // default: this checkout's build
    rounds: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '50' }, // percent of the load each server takes untimed first, as run.ts
    off: { type: 'boolean', default: false }, // checks off (127.0.0.1 trusted): the same signed messages
    'a-node-args': { type: 'string', default: '' },
    'b-node-args': { type: 'string', default: '' },
    'b-toml': { type: 'string', default: '' }, // more [inbound] keys for B, e.g. "verify_workers = 2"
    keep: { type: 'boolean', default: false }, // keep the servers' directories (logs) in the temp dir
    help: { type: 'boolean', default: false },
  },
});
if (opt.help || opt.a === undefined) {
  process.stdout.write(
    'usage: node --import tsx bench/ab-inbound.ts --a OTHER/dist/cli.js [--b dist/cli.js] [--rounds 6] [--off]\n' +
      '         [--warmup PERCENT (default 50; 0: cold)]\n' +
      '         [--a-node-args "..."] [--b-node-args "..."] [--b-toml "key = value"] [--keep]\n',
  );
  process.exit(opt.help ? 0 : 2);
}
const warmupShare = warmupShareOf(opt.warmup);
if (warmupShare === null) {
  process.stderr.write(`--warmup must be a whole percent from 0 to 100, got ${opt.warmup}\n`);
  process.exit(2);
}
const HERE = dirname(fileURLToPath(import.meta.url));
const sides = [
  { name: 'A', cli: opt.a, nodeArgs: opt['a-node-args'], toml: '' },
  {
    name: 'B',
    cli: opt.b ?? join(HERE, '..', 'dist', 'cli.js'),
    nodeArgs: opt['b-node-args'],
    toml: opt['b-toml'],
  },
];
const plan = benchPlan(false).a;
const setup = await startInboundSetup(SENDER.split('@')[1]!);
const signer = reusingSigner((m) => setup.sign(m), plan.messages);

const rates: number[][] = [[], []];
try {
  for (let round = 0; round < Number(opt.rounds); round++) {
    for (const which of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const side = sides[which]!;
      const server = await startMailroom({
        cli: side.cli,
        port: await freePort(),
        domain: 'example.test',
        user: 'bob',
        maxConnections: 1000,
        nodeArgs: side.nodeArgs.split(/\s+/).filter((a) => a.length > 0),
        keep: opt.keep,
        ...(opt.off ? {} : { extraToml: `${setup.toml}\n${side.toml}` }),
      });
      try {
        await warmUp(server, plan, 'mailroom-load', 'bob@example.test', null, warmupShare, signer);
        const cpu0 = server.cpuSeconds();
        const main0 = server.mainThreadCpuSeconds();
        const f = await measureThroughput(server, plan, 'mailroom-load', 'bob@example.test', null, signer);
        const perMsg = (s: number) => ((s * 1000) / f.accepted).toFixed(3);
        rates[which]!.push(f.msgsPerSec);
        console.log(
          `round ${round + 1} ${side.name}: ${f.msgsPerSec.toFixed(0)} msgs/s, p50/p99 ${f.p50Ms.toFixed(1)}/` +
            `${f.p99Ms.toFixed(1)} ms, CPU ${perMsg(server.cpuSeconds() - cpu0)} ms/msg ` +
            `(main thread ${perMsg(server.mainThreadCpuSeconds() - main0)}), failed ${f.failed}`,
        );
      } finally {
        await server.stop();
      }
    }
  }
} finally {
  await setup.close();
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
const [a, b] = rates as [number[], number[]];
const bWon = a.filter((rate, i) => (b[i] ?? 0) > rate).length;
console.log(
  `medians: A ${median(a).toFixed(0)}, B ${median(b).toFixed(0)} msgs/s (B/A ${(median(b) / median(a)).toFixed(3)}); ` +
    `B faster in ${bWon} of ${a.length} pairs`,
);
