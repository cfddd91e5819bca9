// `mailroom dkim generate | list | activate | remove`: DKIM signing keys of local domains (CONTRACT.md), and the DNS records to publish.
import { MailroomError } from '../../errors.js';
import {
  defaultSelector,
  dkimDnsRecord,
  dkimZoneLine,
  dkimZoneLineSplit,
  generateDkimKeyPair,
  parseSelector,
} from '../../sender-auth/dkim-keys.js';
import { pickSigningKey, type DkimAlgorithm, type DkimKey } from '../../store/dkim-store.js';
import { normalizeDomain } from '../../store/sqlite/names.js';
import { noMoreArgs, requireArg, UsageError, withStore, type Command } from '../main.js';

const GENERATE = 'mailroom dkim generate DOMAIN [--selector S] [--algorithm rsa|ed25519] [--inactive]';
const USAGE = `${GENERATE} | list [--json] | activate DOMAIN SELECTOR | remove DOMAIN SELECTOR`;

/** What `list --json` prints per key (CONTRACT.md). The private key is never part of it. */
export interface DkimKeyJson {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  dns_name: string;
  dns_txt: string;
  active: boolean;
}

/** Every key with whether it is its domain's signing key (store/dkim-store.ts pickSigningKey). */
export function dkimKeysJson(keys: readonly DkimKey[]): DkimKeyJson[] {
  const byDomain = new Map<string, DkimKey[]>();
  for (const k of keys) byDomain.set(k.domain, [...(byDomain.get(k.domain) ?? []), k]);
  const signing = new Set([...byDomain.values()].map((list) => pickSigningKey(list)));
  return keys.map((k) => {
    const record = dkimDnsRecord(k.domain, k.selector, k.algorithm, k.publicKey);
    return {
      domain: k.domain,
      selector: k.selector,
      algorithm: k.algorithm,
      dns_name: record.name,
      dns_txt: record.txt,
      active: signing.has(k),
    };
  });
}

function parseAlgorithm(value: string | boolean | undefined): DkimAlgorithm {
  if (value === undefined) return 'rsa';
  if (value === 'rsa' || value === 'ed25519') return value;
  throw new UsageError(`dkim: --algorithm must be rsa or ed25519, not ${JSON.stringify(value)}`);
}

export const dkimCommand: Command = {
  name: 'dkim',
  summary:
    'generate DOMAIN [--selector S] [--algorithm rsa|ed25519] [--inactive] | list [--json] | activate | remove',
  options: {
    json: { type: 'boolean' },
    selector: { type: 'string' },
    algorithm: { type: 'string' },
    inactive: { type: 'boolean' },
  },
  async run(ctx) {
    const action = requireArg(ctx, 0, 'action', USAGE);
    switch (action) {
      case 'generate': {
        const domain = normalizeDomain(requireArg(ctx, 1, 'domain', GENERATE));
        noMoreArgs(ctx, 2, GENERATE);
        const algorithm = parseAlgorithm(ctx.values.algorithm);
        const given = ctx.values.selector;
        const selector = typeof given === 'string' ? parseSelector(given) : null;
        const inactive = ctx.values.inactive === true;
        const key = await withStore(ctx, async (store) => {
          // Checked before the (slow) key generation; addKey checks again inside its transaction.
          if (!store.isLocalDomain(domain))
            throw new MailroomError('DOMAIN_NOT_LOCAL', `domain ${domain} is not local`);
          const taken = new Set(store.dkim.listKeys(domain).map((k) => k.selector));
          const pair = await generateDkimKeyPair(algorithm);
          const added = store.dkim.addKey({
            domain,
            selector: selector ?? defaultSelector(new Date(), taken),
            algorithm,
            ...pair,
            inactive,
          });
          const signing = store.dkim.signingKey(domain);
          return { added, signs: signing?.selector === added.selector };
        });
        const record = dkimDnsRecord(key.added.domain, key.added.selector, algorithm, key.added.publicKey);
        // The record first (CONTRACT.md), then notes as zone-file comments, so the whole output can be pasted.
        ctx.print(dkimZoneLine(record));
        if (record.txt.length > 255)
          ctx.print(`; in a zone file (strings of at most 255 octets): ${dkimZoneLineSplit(record)}`);
        ctx.print(
          key.signs
            ? `; ${algorithm} key ${key.added.selector} signs mail from ${key.added.domain} from now on: publish the record above`
            : `; ${algorithm} key ${key.added.selector} stored, not signing yet: publish the record above, wait for it to be ` +
                `visible, then run: mailroom dkim activate ${key.added.domain} ${key.added.selector}`,
        );
        return;
      }
      case 'list': {
        noMoreArgs(ctx, 1, 'mailroom dkim list [--json]');
        const keys = dkimKeysJson(await withStore(ctx, (store) => store.dkim.listKeys()));
        if (ctx.values.json) ctx.printJson(keys);
        else
          for (const k of keys)
            ctx.print(
              `${k.domain} ${k.selector} ${k.algorithm} ${k.active ? 'active' : 'inactive'} ${k.dns_name}`,
            );
        return;
      }
      case 'activate':
      case 'remove': {
        const line = `mailroom dkim ${action} DOMAIN SELECTOR`;
        const domain = normalizeDomain(requireArg(ctx, 1, 'domain', line));
        const selector = parseSelector(requireArg(ctx, 2, 'selector', line));
        noMoreArgs(ctx, 3, line);
        await withStore(ctx, (store) =>
          action === 'activate'
            ? store.dkim.activateKey(domain, selector)
            : store.dkim.removeKey(domain, selector),
        );
        ctx.print(`dkim key ${selector} for ${domain} ${action === 'activate' ? 'activated' : 'removed'}`);
        return;
      }
      default:
        throw new UsageError(`dkim: unknown action "${action}" (usage: ${USAGE})`);
    }
  },
};
