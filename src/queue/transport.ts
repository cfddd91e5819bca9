// The scheduler's Transport over SMTP: MX resolution (or outbound.routes), then the client connection, host by host.
import { isAscii } from 'node:buffer';
import type { ClientConnectionOptions } from '../smtp/client/connection.js';
import { deliverToHosts } from '../smtp/client/deliver-hosts.js';
import type { ConnectionPool } from '../smtp/client/connection-pool.js';
import type { ClientTimeouts, RecipientResult } from '../smtp/client/client-types.js';
import { resolveDestination, type DnsResolver } from '../smtp/client/mx-resolver.js';
import type { QueueStore } from '../store/queue-store.js';
import { foldLongLines } from '../mail/eightbit-downgrade.js';
import type { OutboundSigner } from '../sender-auth/dkim-sign.js';
import { toOutboundMessage } from './delivery-attempt.js';
import type { Transport } from './scheduler.js';
import {
  applyTlsPolicies,
  type PolicyDecision,
  type PolicyHost,
  type TlsPolicyDeps,
} from '../smtp/client/tls-policy/resolve-policy.js';
import { tlsRequiredNo } from '../smtp/client/tls-policy/require-tls.js';
import type { OutboundMessage } from '../smtp/client/client-commands.js';

/** Bodies read for the 8-bit check kept per connection for sending (bounds memory: ~100 connections at once). */
export const BODY_CACHE_BYTES = 1024 * 1024;

export interface SmtpTransportOptions {
  queue: QueueStore;
  /** Our name in EHLO (config `hostname`). */
  hostname: string;
  /** outbound.port */
  port: number;
  /** outbound.routes as "host:port" strings; '*' is the smarthost. */
  routes: Record<string, string>;
  /** outbound.route_auth: AUTH credentials for the route with that key. */
  routeAuth?: Record<string, { username: string; password: string; allowPlaintextAuth: boolean }>;
  resolver: DnsResolver;
  random?: () => number;
  timeouts?: ClientTimeouts;
  connectTimeoutMs?: number;
  connect?: ClientConnectionOptions['connect'];
  /** outbound.source_address ('' = the system's choice). */
  sourceAddress?: string;
  /** Idle connections kept between batches (outgoing.ts owns it and closes it at shutdown). */
  pool?: ConnectionPool;
  /** DKIM signing of what leaves (sender-auth/dkim-sign.ts); absent: sent as queued. */
  signer?: OutboundSigner;
  /** Outbound TLS policies (DANE, MTA-STS) for MX deliveries, and what the connections need for them. */
  tlsPolicy?: TlsPolicyDeps &
    Pick<ClientConnectionOptions, 'tlsCa'> & {
      /** Each session's TLS outcome, with the destination domain (TLS-RPT, RFC 8460). */
      onTlsResult?: (
        domain: string,
        ...result: Parameters<NonNullable<ClientConnectionOptions['onTlsResult']>>
      ) => void;
    };
}

export function createSmtpTransport(options: SmtpTransportOptions): Transport {
  return async (domain, jobs, done) => {
    const dest = await resolveDestination(domain, {
      resolver: options.resolver,
      routes: options.routes,
      port: options.port,
      random: options.random ?? Math.random,
    });
    // RFC 7672 / RFC 8461 apply to MX delivery; a configured route (smarthost) is our own choice of peer.
    const policy: PolicyDecision | null =
      dest.kind === 'hosts' && dest.route === null && options.tlsPolicy
        ? await applyTlsPolicies(domain, dest.hosts, options.tlsPolicy)
        : null;
    if (dest.kind !== 'hosts') {
      // DNS said no (NXDOMAIN, null MX: failed) or not now (SERVFAIL, timeout: deferred). Our words, no peer's;
      // our code and enhanced status (X.1.2 bad destination, X.4.3 ...) still become the DSN's Status
      // (RFC 3464 2.3.4), as for the client's own refusals, instead of a bare 5.0.0 / 4.0.0.
      const outcome = dest.kind === 'permanent' ? 'failed' : 'deferred';
      const code = dest.kind === 'permanent' ? 550 : 451;
      for (const job of jobs) {
        const results: RecipientResult[] = job.recipients.map((r) => ({
          address: r.address,
          outcome,
          stage: 'connection',
          reply: { code, enhanced: dest.enhanced, text: dest.reason },
          diagnostic: `${code} ${dest.enhanced} ${dest.reason}`,
          fromPeer: false,
          tls: false,
        }));
        done(job.queueId, results, { host: '', dsn: false });
      }
      return;
    }
    // RFC 6152: whether a message needs 8BITMIME is a property of its bytes, whatever BODY= the client claimed.
    // The bytes read for that are kept for sending while they fit in BODY_CACHE_BYTES (most mail is small),
    // so a message is read once, not twice; larger ones are read again when due, keeping memory bounded.
    const messages = [];
    // RFC 8689 5: messages whose sender wrote "TLS-Required: No" go without DANE/MTA-STS enforcement.
    const relaxed = new Set<string>();
    const cache = new Map<string, Buffer>();
    const senders = new Map(jobs.map((job) => [job.queueId, job.recipients[0]?.sender ?? '']));
    // RFC 6376: the signature is made last, over the bytes that go out (after the folding above and any
    // 8-bit downgrade in the connection); the signer caches it, so the SIZE= estimate below and the send
    // share one signature.
    const signer = options.signer;
    const finishBody = signer
      ? (id: string, body: Buffer): Promise<Buffer> => signer.sign(id, senders.get(id) ?? '', body)
      : undefined;
    let cached = 0;
    // We accept body lines up to DATA_LINE_MAX (64 KiB); peers may enforce RFC 5322's 998, so the parts with
    // longer lines go out re-encoded (the same bytes every time the body is read, so SIZE= stays true).
    const readOutgoing = async (id: string): Promise<Buffer> =>
      foldLongLines(await options.queue.readMessage(id)).message;
    for (const job of jobs) {
      try {
        const body = await readOutgoing(job.queueId);
        // isAscii is native (SIMD): the same answer as eightbit-downgrade's isEightBit, negated, without
        // a JS loop over every byte of every message.
        const size = finishBody ? (await finishBody(job.queueId, body)).length : body.length;
        const message = { ...toOutboundMessage(job, !isAscii(body)), size };
        messages.push(message);
        if (!message.requireTls && tlsRequiredNo(body)) relaxed.add(job.queueId);
        if (cached + body.length <= BODY_CACHE_BYTES) {
          cache.set(job.queueId, body);
          cached += body.length;
        }
      } catch {
        // Removed meanwhile (`queue remove`): nothing to send, nothing to record.
      }
    }
    if (messages.length === 0) return;
    const readBody = (id: string): Promise<Buffer> => {
      const body = cache.get(id);
      if (!body) return readOutgoing(id);
      // Once only: a second read (a downgrade, then the send) goes to the store, and memory is released.
      cache.delete(id);
      return Promise.resolve(body);
    };
    const auth = dest.route !== null ? options.routeAuth?.[dest.route] : undefined;
    const report = dest.route === null ? options.tlsPolicy?.onTlsResult : undefined;
    const strict = messages.filter((m) => !relaxed.has(m.id));
    const loose = messages.filter((m) => relaxed.has(m.id));
    if (policy?.kind === 'defer') {
      for (const m of strict) done(m.id, deferAll(m.recipients, policy.reason), { host: '', dsn: false });
    } else if (strict.length > 0) {
      await send(policy?.hosts ?? dest.hosts, strict);
    }
    if (loose.length > 0) await send(dest.hosts, loose);

    async function send(hosts: readonly PolicyHost[], batch: OutboundMessage[]): Promise<void> {
      await deliverToHosts(hosts, {
        hostname: options.hostname,
        ...(auth ? { auth } : {}),
        messages: batch,
        readBody,
        ...(finishBody ? { finishBody } : {}),
        onMessageDone: (id, results, peer) => done(id, results, { host: peer.host, dsn: peer.dsn }),
        ...(options.timeouts ? { timeouts: options.timeouts } : {}),
        ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
        ...(options.connect ? { connect: options.connect } : {}),
        ...(options.sourceAddress ? { sourceAddress: options.sourceAddress } : {}),
        ...(options.pool ? { pool: options.pool } : {}),
        ...(options.tlsPolicy?.tlsCa ? { tlsCa: options.tlsPolicy.tlsCa } : {}),
        ...(report ? { onTlsResult: (...result) => report(domain, ...result) } : {}),
        ...(options.tlsPolicy ? { now: options.tlsPolicy.now } : {}),
      });
    }
  };
}

/** A policy says not now (no MX host allowed, TLSA lookup failed): every recipient waits, in our words. */
function deferAll(recipients: readonly { address: string }[], reason: string): RecipientResult[] {
  return recipients.map((r) => ({
    address: r.address,
    outcome: 'deferred' as const,
    stage: 'connection' as const,
    diagnostic: reason,
    fromPeer: false,
    tls: false,
  }));
}
