// `mailroom doctor DOMAIN [--json]`: checks a local domain's DNS through the configured resolver and says what to publish.
import { createMailResolver } from '../../dns/resolver.js';
import type { DoctorDkimKey } from '../../doctor/checks.js';
import { createStsFetcher } from '../../smtp/client/tls-policy/mta-sts-fetch.js';
import { MailroomError } from '../../errors.js';
import { normalizeDomain } from '../../store/sqlite/names.js';
import type { Store } from '../../store/store.js';
import { noMoreArgs, requireArg, withStore, type Command } from '../main.js';
import { dkimKeysJson } from './dkim.js';

const USAGE = 'mailroom doctor DOMAIN [--json]';

/** The domain's DKIM keys, public parts only, with which one signs (as `dkim list` says). */
function dkimKeysOf(store: Store, domain: string): DoctorDkimKey[] {
  return dkimKeysJson(store.dkim.listKeys(domain)).map((k) => ({
    selector: k.selector,
    dnsName: k.dns_name,
    dnsTxt: k.dns_txt,
    active: k.active,
  }));
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: "DOMAIN [--json]: check a local domain's DNS (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, PTR)",
  options: { json: { type: 'boolean' } },
  async run(ctx) {
    const domain = normalizeDomain(requireArg(ctx, 0, 'domain', USAGE));
    noMoreArgs(ctx, 1, USAGE);
    const config = ctx.config();
    const dkimKeys = await withStore(ctx, (store) => {
      if (!store.isLocalDomain(domain))
        throw new MailroomError(
          'NOT_FOUND',
          `doctor: ${domain} is not a local domain (mailroom domain add ${domain})`,
        );
      return dkimKeysOf(store, domain);
    });
    // Loaded here, not at the top: main.ts imports every command, and checks.ts pulls in mailauth's SPF
    // code, which `serve` (an idle one too) held in memory without ever running it (issue 12).
    const { formatDoctorReport, runDoctor } = await import('../../doctor/checks.js');
    const resolver = createMailResolver({ servers: config.dns.servers });
    const results = await runDoctor({
      domain,
      hostname: config.hostname,
      sourceAddress: config.outbound.sourceAddress,
      dkimKeys,
      resolver,
      fetchPolicy: createStsFetcher({ resolver }),
      now: () => new Date(),
    });
    if (ctx.values.json) ctx.printJson(results);
    else ctx.print(formatDoctorReport(domain, results));
    const bad = results.filter((r) => r.status !== 'ok').length;
    // Scripts and monitoring can act on the exit status: 1 while anything needs attention.
    if (bad > 0)
      throw new MailroomError('DOCTOR', `doctor: ${bad} of ${results.length} records need attention`);
  },
};
