// The inbound checks service the MX session asks: DNSBL at connect, then per message SPF/DKIM/DMARC/ARC/iprev and the verdict.
import { createReadStream } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { DNSBL_TIMEOUT_MS, INBOUND_CHECK_TIMEOUT_MS, TRUSTED_MEMO_ADDRESSES } from '../config/limits.js';
import type { Config } from '../config/schema.js';
import type { MailResolver } from '../dns/types.js';
import type { SpooledBody } from '../store/store.js';
import { OwnAuthResultsFilter } from './auth-results.js';
import { findListing, type DnsblListing } from './dnsbl.js';
import { decideInbound, dmarcResinfo, evaluateDmarc, type InboundAction } from './policy.js';
import { reportRowOf, type DmarcReportRow } from './dmarc-report.js';
import { verifyDkim, type DkimRunner } from './dkim-verify.js';
import { DkimVerifyPool } from './verify-pool.js';
import {
  formatAuthenticationResults,
  newVerifyMemos,
  orgDomainOf,
  plainIp,
  verifyMessage,
  type MessageContext,
} from './verify.js';

export type { MessageContext } from './verify.js';

export interface InboundVerdict {
  action: InboundAction;
  /** The Authentication-Results field to prepend (CRLF-terminated); empty when the checks could not run. */
  header: string;
  /** Why the checks could not finish (logged), when action is a defer for that reason. */
  error?: unknown;
}

export interface InboundChecks {
  /** [inbound] trusted_networks: such clients are neither DNSBL-checked nor message-checked. */
  trusted(remoteAddress: string): boolean;
  /** At connect (MX only): the block list that lists this client, or null (also when the lists do not answer). */
  checkClient(remoteAddress: string): Promise<DnsblListing | null>;
  /** A new forged-header filter for one message (RFC 8601 5). */
  newFilter(): OwnAuthResultsFilter;
  /** After the final dot: the checks, the Authentication-Results field and what to do with the message. */
  checkMessage(body: SpooledBody, context: MessageContext): Promise<InboundVerdict>;
  /** Stops the verify workers (server shutdown); absent: nothing to stop. */
  close?(): Promise<void>;
}

export interface InboundChecksOptions {
  settings: Config['inbound'];
  hostname: string;
  resolver: MailResolver;
  isLocalDomain(domain: string): boolean;
  /** pct sampling (RFC 7489 6.6.4); default Math.random. */
  random?: () => number;
  /** Counts one evaluation for the aggregate reports (store); used when settings.dmarcReports is on. */
  recordDmarc?: (row: Omit<DmarcReportRow, 'count'>) => void;
  /** The clock for the report day; default the system's. */
  now?: () => Date;
  checkTimeoutMs?: number;
  /** A verify worker stopped unexpectedly (the server logs it); another starts shortly. */
  onVerifyWorkerExit?: (code: number) => void;
  /** Tests: this pool instead of one of settings.verifyWorkers threads. */
  verifyPool?: DkimVerifyPool;
}

function blockListOf(networks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const n of networks) {
    const [ip = '', prefix] = n.split('/');
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(prefix), type);
  }
  return list;
}

function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((done) => {
    timer = setTimeout(() => done(onTimeout()), ms);
    timer.unref?.();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export function createInboundChecks(options: InboundChecksOptions): InboundChecks {
  const { settings, hostname, resolver } = options;
  const trustedList = blockListOf(settings.trustedNetworks);
  // The verdict per address: BlockList.check builds a SocketAddress per call (~13 us, once per SMTP connection).
  const trustedMemo = new Map<string, boolean>();
  const random = options.random ?? Math.random;
  const timeoutMs = options.checkTimeoutMs ?? INBOUND_CHECK_TIMEOUT_MS;
  // The DKIM/ARC pass on a worker when one is ready and the pool has room, else here (verify-pool.ts).
  const pool =
    options.verifyPool ??
    (settings.verifyWorkers > 0
      ? new DkimVerifyPool({
          size: settings.verifyWorkers,
          ...(options.onVerifyWorkerExit ? { onWorkerExit: options.onVerifyWorkerExit } : {}),
        })
      : null);
  // SPF verdicts, DMARC records and iprev shared by messages while their DNS answers last (dns-memo.ts).
  const memos = newVerifyMemos(resolver);
  const runDkim: DkimRunner = (message, sender, lookup) =>
    pool?.run(message, sender, lookup) ?? verifyDkim(message, sender, lookup);

  return {
    trusted(remoteAddress) {
      const known = trustedMemo.get(remoteAddress);
      if (known !== undefined) return known;
      const ip = plainIp(remoteAddress);
      const family = isIP(ip);
      const verdict = family !== 0 && trustedList.check(ip, family === 6 ? 'ipv6' : 'ipv4');
      if (trustedMemo.size >= TRUSTED_MEMO_ADDRESSES) trustedMemo.clear();
      trustedMemo.set(remoteAddress, verdict);
      return verdict;
    },

    async checkClient(remoteAddress) {
      if (settings.dnsbl.length === 0 || isIP(plainIp(remoteAddress)) === 0) return null;
      return withTimeout(
        findListing(remoteAddress, settings.dnsbl, resolver).catch(() => null),
        DNSBL_TIMEOUT_MS,
        () => null,
      );
    },

    newFilter: () => new OwnAuthResultsFilter(hostname),

    async checkMessage(body, context) {
      // A worker reads the spool file itself: only its path is handed over.
      const input =
        body.kind === 'memory' ? body.chunks : pool ? { path: body.path } : createReadStream(body.path);
      const claimed = context.sender.split('@').pop() ?? '';
      const work = (async (): Promise<InboundVerdict> => {
        const { facts, resinfo } = await verifyMessage(input, context, hostname, resolver, runDkim, memos);
        const dmarc = evaluateDmarc(facts, orgDomainOf);
        const action = decideInbound(facts, dmarc, {
          mode: settings.dmarc,
          isLocalDomain: options.isLocalDomain,
          orgDomainOf,
          random,
        });
        // RFC 7489 7.2: only domains that ask for reports (rua) are counted; bookkeeping never fails a message.
        if (settings.dmarcReports && options.recordDmarc && (dmarc.record?.rua?.length ?? 0) > 0) {
          const day = (options.now?.() ?? new Date()).toISOString().slice(0, 10);
          const row = reportRowOf(facts, dmarc, action, plainIp(context.remoteAddress), day);
          try {
            if (row) options.recordDmarc(row);
          } catch {
            // A report count lost is not worth a deferred message.
          }
        }
        return { action, header: formatAuthenticationResults(hostname, [...resinfo, dmarcResinfo(dmarc)]) };
      })();
      // A check that cannot finish (DNS far too slow, a broken message the verifier chokes on) is answered 451:
      // never a 5xx for our own failure, and never a silent pass that would let a forged local sender in.
      const deferred = (error: unknown): InboundVerdict => ({
        action: { kind: 'defer', reason: 'dmarc', domain: claimed },
        header: '',
        error,
      });
      return withTimeout(
        work.catch((error: unknown) => deferred(error)),
        timeoutMs,
        () => {
          if (typeof (input as { destroy?: unknown }).destroy === 'function') {
            (input as { destroy(): void }).destroy();
          }
          return deferred(new Error(`inbound checks took over ${timeoutMs} ms`));
        },
      );
    },

    close: () => pool?.close() ?? Promise.resolve(),
  };
}
