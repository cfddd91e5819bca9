// The SMTP bench's "inbound checks on" mode: a DNS fixture in this process, DKIM-signed messages, SPF/DMARC for the sender.
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign, type DKIMSignOptions } from 'mailauth';
import { type DnsFixture, startDnsFixture } from '../../test/helpers/dns-fixture.js';

/** What the server's log says about its resolver at shutdown (src/server/serve.ts `dns-stats`). */
export interface DnsStats {
  hits: number;
  misses: number;
  negativeHits: number;
}

export interface InboundSetup {
  dns: DnsFixture;
  /** TOML for our server: [dns] on the fixture, no trusted network (the load comes from 127.0.0.1). */
  toml: string;
  /** DKIM-signs one message (RSA-2048, relaxed/relaxed) as the sender's domain. */
  sign(message: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}

/** Starts the fixture for `senderDomain`: SPF allowing 127.0.0.1, the DKIM key, DMARC p=reject, PTR for iprev. */
export async function startInboundSetup(senderDomain: string, verifyWorkers?: string): Promise<InboundSetup> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p = publicKey
    .export({ type: 'spki', format: 'pem' })
    .toString()
    .replace(/-----[^-]+-----|\s/g, '');
  const dns = await startDnsFixture({
    [senderDomain]: { txt: ['v=spf1 ip4:127.0.0.1 -all'] },
    // A DKIM key record is over 255 octets: several character-strings (RFC 6376 3.6.2.2).
    [`bench._domainkey.${senderDomain}`]: { txt: [`v=DKIM1; k=rsa; p=${p}`.match(/.{1,255}/g)!] },
    [`_dmarc.${senderDomain}`]: { txt: ['v=DMARC1; p=reject'] },
    '1.0.0.127.in-addr.arpa': { ptr: ['bench-client.test'] },
    'bench-client.test': { a: ['127.0.0.1'] },
  });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // mailauth 4.13 signs from signatureData; its index.d.ts only knows the top-level form. signTime is given
  // because without it mailauth computes t= twice (Math.round(Date.now() / 1000)) and signs a different t= than it
  // writes when a half second passes in between: about 1 signature in 300 failed to verify.
  const options = (signTime: Date) =>
    ({
      canonicalization: 'relaxed/relaxed',
      signTime,
      signatureData: [{ signingDomain: senderDomain, selector: 'bench', privateKey: key }],
    }) as unknown as DKIMSignOptions;
  return {
    dns,
    toml: [
      '[dns]',
      `servers = ["${dns.address}"]`,
      '[inbound]',
      'dmarc = "enforce"',
      'trusted_networks = []',
      ...(verifyWorkers !== undefined ? [`verify_workers = ${Number(verifyWorkers)}`] : []),
    ].join('\n'),
    async sign(message) {
      const res = await dkimSign(message, options(new Date()));
      if (res.errors.length > 0) throw new Error(`dkimSign: ${JSON.stringify(res.errors)}`);
      return Buffer.concat([Buffer.from(res.signatures, 'latin1'), message]);
    },
    close: () => dns.close(),
  };
}

/**
 * A signer that signs the first `count` messages it is given and then hands those out again, in turn. Why: the
 * load generator builds message i the same way every run, and signing costs the bench ~1.3 ms of CPU a message
 * (~13 s for a round of 10,000), spent again for every warm-up and round. The server still verifies every
 * message it gets: a message sent twice is checked twice.
 */
export function reusingSigner(
  sign: (message: Buffer) => Promise<Buffer>,
  count: number,
): (message: Buffer) => Promise<Buffer> {
  const signed: Buffer[] = [];
  let calls = 0;
  return async (message) => {
    const i = calls++ % count;
    return (signed[i] ??= await sign(message));
  };
}

/** The `dns-stats` line of a server log, or null when it has none. */
export function dnsStatsOf(log: string): DnsStats | null {
  for (const line of log.split('\n').reverse()) {
    if (!line.includes('"dns-stats"')) continue;
    try {
      const o = JSON.parse(line) as Partial<DnsStats>;
      return { hits: o.hits ?? 0, misses: o.misses ?? 0, negativeHits: o.negativeHits ?? 0 };
    } catch {
      return null;
    }
  }
  return null;
}
