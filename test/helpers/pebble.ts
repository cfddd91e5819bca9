// Test helper: Debian's pebble ACME test server (scripts/install-test-tools.sh) on loopback, validating against our listeners, resolving through a DNS fixture.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSelfSigned } from '../../src/net/tls.js';
import { freePorts } from './mailroom-process.js';

export interface Pebble {
  /** The ACME directory URL ([acme] directory). */
  directory: string;
  /** PEM of the certificate pebble's HTTPS serves ([acme] ca_file): self-signed for 127.0.0.1. */
  caFile: string;
  output: string[];
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** Where pebble validates HTTP-01 (our [http]) and TLS-ALPN-01 (our [https]). */
  httpPort: number;
  tlsPort: number;
  /** "127.0.0.1:port" of a DNS fixture answering the test names. */
  dnsServer: string;
  /** Lifetime of issued certificates, in seconds (short ones make a renewal happen during a test). */
  validitySeconds: number;
}

/** Loud, not skipped: the test set-up installs pebble. */
export function assertPebbleInstalled(): void {
  const found = spawnSync('sh', ['-c', 'command -v pebble'], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error('pebble is not installed: run scripts/install-test-tools.sh');
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  assertPebbleInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-pebble-'));
  const [listenPort, managementPort] = (await freePorts(2)) as [number, number];
  // Names 127.0.0.1 (and localhost): the directory URL uses the address.
  const own = await makeSelfSigned('localhost', new Date());
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  writeFileSync(certPath, own.cert);
  writeFileSync(keyPath, own.key);
  const configPath = join(dir, 'pebble.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listenPort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: certPath,
        privateKey: keyPath,
        httpPort: options.httpPort,
        tlsPort: options.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        certificateValidityPeriod: options.validitySeconds,
      },
    }),
  );
  const child: ChildProcess = spawn('pebble', ['-config', configPath, '-dnsserver', options.dnsServer], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // Real validation, without pebble's random 0-15 s sleeps; no rejected nonces and no reused
      // authorizations, so every order (the renewal too) answers its challenges.
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
      PEBBLE_AUTHZREUSE: '0',
    },
  });
  const output: string[] = [];
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`pebble did not start:\n${output.join('')}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      output.push(chunk.toString('utf8'));
      if (output.join('').includes('Listening on')) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`pebble exited with ${code}:\n${output.join('')}`));
    });
  });
  return {
    directory: `https://127.0.0.1:${listenPort}/dir`,
    caFile: certPath,
    output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
