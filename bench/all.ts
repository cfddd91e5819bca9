// `npm run bench`: runs every bench in sequence (SMTP acceptance, outbound relay, IMAP, JMAP, web mail first paint, robustness soak, DKIM signing), each printing its own table.
// Each bench is its own process (node --import tsx bench/X.ts), so one that fails does not stop the others.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCHES = ['smtp', 'relay', 'imap', 'imap-idle', 'jmap', 'paint', 'soak', 'dkim'] as const;
type Bench = (typeof BENCHES)[number];
/** The SMTP bench's own load ids: `--only a,b` keeps meaning "SMTP loads a and b" as before. */
const SMTP_LOADS = ['a', 'b', 'c'];

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    'no-postfix': { type: 'boolean', default: false },
    'no-dovecot': { type: 'boolean', default: false },
    'no-ours': { type: 'boolean', default: false },
    generator: { type: 'string' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    // Anything else a bench takes, passed through as one string each (split on spaces).
    'smtp-args': { type: 'string', default: '' },
    'relay-args': { type: 'string', default: '' },
    'imap-args': { type: 'string', default: '' },
    'imap-idle-args': { type: 'string', default: '' },
    'jmap-args': { type: 'string', default: '' },
    'paint-args': { type: 'string', default: '' },
    'soak-args': { type: 'string', default: '' },
    'dkim-args': { type: 'string', default: '' },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(
    'usage: npm run bench -- [--only smtp,relay,imap,imap-idle,jmap,paint,soak,dkim|a,b,c] [--quick] [--rounds N] [--no-postfix] [--no-dovecot]\n' +
      '                        [--no-ours] [--generator G] [--json FILE] [--keep]\n' +
      '                        [--smtp-args "..."] [--relay-args "..."] [--imap-args "..."] [--jmap-args "..."]\n' +
      '                        [--soak-args "..."] [--dkim-args "..."] [--imap-idle-args "..."] [--paint-args "MESSAGES ROUNDS"]\n' +
      'each bench alone: node --import tsx bench/{run,relay,imap,imap-idle,jmap,soak,dkim-sign}.ts --help; see bench/README.md\n',
  );
  process.exit(0);
}

const picked = (opt.only ?? BENCHES.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const p of picked) {
  if (!(BENCHES as readonly string[]).includes(p) && !SMTP_LOADS.includes(p)) {
    process.stderr.write(`bench: --only takes ${[...BENCHES, ...SMTP_LOADS].join(', ')}; got ${p}\n`);
    process.exit(2);
  }
}
const smtpLoads = picked.filter((p) => SMTP_LOADS.includes(p));
const benches = BENCHES.filter((b) => picked.includes(b) || (b === 'smtp' && smtpLoads.length > 0));
const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);
const jsonFor = (b: Bench): string[] => {
  if (!opt.json) return [];
  // The SMTP figures keep the exact file asked for (as before); the others get a suffix beside it.
  return ['--json', b === 'smtp' ? opt.json : opt.json.replace(/(\.json)?$/, `.${b}.json`)];
};
const flag = (on: boolean, name: string): string[] => (on ? [name] : []);

const argsOf: Record<Bench, () => string[]> = {
  smtp: () => [
    ...flag(opt.quick, '--quick'),
    ...(smtpLoads.length > 0 ? ['--only', smtpLoads.join(',')] : []),
    ...(opt.rounds ? ['--rounds', opt.rounds] : []),
    ...flag(opt['no-postfix'], '--no-postfix'),
    ...flag(opt['no-ours'], '--no-ours'),
    ...(opt.generator ? ['--generator', opt.generator] : []),
    ...flag(opt.keep, '--keep'),
    ...jsonFor('smtp'),
    ...words(opt['smtp-args']),
  ],
  relay: () => [
    ...flag(opt.quick, '--quick'),
    ...flag(opt['no-postfix'], '--no-postfix'),
    ...flag(opt['no-ours'], '--no-ours'),
    ...flag(opt.keep, '--keep'),
    ...jsonFor('relay'),
    ...words(opt['relay-args']),
  ],
  imap: () => [
    ...flag(opt.quick, '--quick'),
    ...(opt.rounds ? ['--rounds', opt.rounds] : []),
    ...flag(opt['no-dovecot'], '--no-dovecot'),
    ...flag(opt['no-ours'], '--no-ours'),
    ...flag(opt.keep, '--keep'),
    ...jsonFor('imap'),
    ...words(opt['imap-args']),
  ],
  // Our server alone: idle connections after LOGIN + SELECT (issue 12).
  'imap-idle': () => [
    ...flag(opt.quick, '--quick'),
    ...flag(opt.keep, '--keep'),
    ...jsonFor('imap-idle'),
    ...words(opt['imap-idle-args']),
  ],
  jmap: () => [
    ...flag(opt.quick, '--quick'),
    ...(opt.rounds ? ['--rounds', opt.rounds] : []),
    ...flag(opt['no-dovecot'], '--no-dovecot'),
    ...flag(opt['no-ours'], '--no-ours'),
    ...flag(opt.keep, '--keep'),
    ...jsonFor('jmap'),
    ...words(opt['jmap-args']),
  ],
  // Our server alone, in headless chromium (goal <= 1 s): MESSAGES ROUNDS, 100,000 and 5 (quick: 20,000 and 3).
  paint: () => (opt['paint-args'] ? words(opt['paint-args']) : opt.quick ? ['20000', '3'] : []),
  // No peer and no rounds: the soak compares our server under attack with itself in calm.
  soak: () => [
    ...flag(opt.quick, '--quick'),
    ...flag(opt.keep, '--keep'),
    ...jsonFor('soak'),
    ...words(opt['soak-args']),
  ],
  // A micro-benchmark (no server); python3-dkim signing the same messages is its peer.
  dkim: () => [...flag(opt.quick, '--quick'), ...jsonFor('dkim'), ...words(opt['dkim-args'])],
};
const FILES: Record<Bench, string> = {
  smtp: 'run.ts',
  relay: 'relay.ts',
  imap: 'imap.ts',
  'imap-idle': 'imap-idle.ts',
  jmap: 'jmap.ts',
  paint: 'web-first-paint.ts',
  soak: 'soak.ts',
  dkim: 'dkim-sign.ts',
};
const TITLES: Record<Bench, string> = {
  smtp: 'SMTP acceptance vs Postfix (issue 2)',
  relay: 'outbound relay vs Postfix (issue 3)',
  imap: 'IMAP vs Dovecot (issue 4)',
  'imap-idle': 'idle IMAP connections after LOGIN + SELECT, KiB each (issue 12)',
  jmap: 'JMAP newest page vs Dovecot IMAP FETCH (issue 9)',
  paint: 'web mail first inbox paint after sign-in, 100,000 messages (issue 9)',
  soak: 'robustness soak: good clients beside hostile ones (issue 8)',
  dkim: 'DKIM signing per 4 KiB message, RSA-2048 and Ed25519 (issue 10)',
};

const results: { bench: Bench; status: number | null; seconds: number }[] = [];
for (const b of benches) {
  const args = argsOf[b]();
  process.stdout.write(`\n=== ${TITLES[b]}: bench/${FILES[b]} ${args.join(' ')}\n\n`);
  const t0 = Date.now();
  // Its own process: each bench parses its own flags, raises its own limits and cleans up its own peers.
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, FILES[b]), ...args], {
    stdio: 'inherit',
  });
  results.push({ bench: b, status: r.status, seconds: (Date.now() - t0) / 1000 });
  if (r.signal === 'SIGINT' || r.signal === 'SIGTERM') break; // Ctrl-C means stop everything
}
process.stdout.write(
  '\n=== bench summary: ' +
    results
      .map(
        (r) =>
          `${r.bench} ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status})`} in ${r.seconds.toFixed(0)} s`,
      )
      .join(', ') +
    '\n',
);
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
