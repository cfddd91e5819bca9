// Entry of the soak's attacker process: runs a HostilePlan (JSON in argv[2]) and prints its stats as one JSON line.
// Its own process, so the hostile traffic does not share an event loop with the good clients being timed.
import { Attacks, type HostilePlan } from './hostile.js';

const plan = JSON.parse(process.argv[2] ?? '{}') as HostilePlan;
let stray = 0;
// A socket error nobody awaited must not end the attack early; it is counted instead.
process.on('unhandledRejection', () => void stray++);
const attacks = new Attacks(plan);
await attacks.run();
const cpu = process.cpuUsage();
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(JSON.stringify({ stats: attacks.stats, strayErrors: stray, cpuSeconds }) + '\n');
process.exit(0);
