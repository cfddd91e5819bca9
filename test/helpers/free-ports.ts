// Free loopback ports for the servers tests start: below the ephemeral range, and claimed across the suite's processes.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where test servers' ports are drawn from: below the ephemeral range (see freePorts). */
const PORT_FLOOR = 10_000;
/** One file per port a live test process has handed out (its pid inside); shared by every test process. */
export const CLAIMS_DIR = join(tmpdir(), 'mailroom-test-ports');

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

function tryListen(port: number): Promise<Server | null> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(null));
    server.listen(port, '127.0.0.1', () => done(server));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const claimed: string[] = [];
let cleanupArmed = false;

/**
 * Claims `port` for this process until it exits: false if a live test process holds it. A claim left by a
 * process that died is taken over.
 */
export function claimPort(port: number): boolean {
  mkdirSync(CLAIMS_DIR, { recursive: true });
  const file = join(CLAIMS_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      claimed.push(file);
      if (!cleanupArmed) {
        cleanupArmed = true;
        process.once('exit', () => {
          for (const f of claimed) {
            try {
              unlinkSync(f);
            } catch {
              // already gone: nothing to release
            }
          }
        });
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        continue; // released in between: try again
      }
      // An empty file is a claim being written this instant; a live owner keeps its port.
      if (!Number.isInteger(owner) || owner === 0 || alive(owner)) return false;
      try {
        unlinkSync(file);
      } catch {
        // another process took it over first: its openSync decides
      }
    }
  }
  return false;
}

/**
 * Ports free right now (each bound, then released), for a server a test starts next. Drawn at random
 * below the OS's ephemeral range, not by binding port 0: port 0 gets a port from that range, which every
 * outgoing connection of every test process also takes its source port from, so between the release
 * here and the server's listen one of the suite's many connections could take it (seen in CI:
 * `serve` refused to start with EADDRINUSE). Below the range a port is only ever taken on request, and
 * each one handed out is claimed for the rest of this process (a file per port under the OS's temporary
 * directory): two test processes running at once drew the same port (seen once in CI, a browser test's
 * server refused to start), and a claim keeps every other one off it.
 */
export async function freePorts(count: number): Promise<number[]> {
  const high = ephemeralLow() - 1;
  const held: Server[] = [];
  try {
    for (let tries = 0; held.length < count && tries < 1000; tries++) {
      if (high - PORT_FLOOR < 1000) {
        // No room below the range: let the OS pick (no claim needed, it never hands out a bound port).
        const server = await tryListen(0);
        if (server) held.push(server);
        continue;
      }
      const port = PORT_FLOOR + Math.floor(Math.random() * (high - PORT_FLOOR + 1));
      if (!claimPort(port)) continue;
      const server = await tryListen(port);
      if (server) held.push(server);
    }
    if (held.length < count) throw new Error(`no ${count} free loopback ports found`);
    return held.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(held.map((s) => new Promise((done) => s.close(done))));
  }
}
