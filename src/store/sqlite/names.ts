// Pure normalisation and validation of domain names, addresses, alias sources and mailbox names for the store.
import { domainToASCII, domainToUnicode } from 'node:url';
import { MailroomError } from '../../errors.js';

/*
 * Decision: addresses are compared case-insensitively everywhere in Mailroom, so the store keeps
 * them lower-cased (local part too). RFC 5321 2.4 lets a host treat local parts case-sensitively,
 * but no mail server in practice does, and mixed-case duplicates would be a trap. NFC first, so
 * the same SMTPUTF8 (RFC 6531) address typed two ways is one address.
 */

// RFC 5321 4.5.3.1: local part 64 octets, domain 255 octets, path 256 octets.
const MAX_LOCAL_OCTETS = 64;
const MAX_DOMAIN_OCTETS = 255;
const MAX_LABEL_OCTETS = 63; // RFC 1035 2.3.4

// Control characters, space, and the characters that delimit addresses in SMTP and headers.
const FORBIDDEN = /[\u0000-\u0020\u007f<>()[\]\\,;:"@]/u;

function octets(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/*
 * Decision: a domain is stored in one canonical form, so that mail can reach it however the sender
 * writes it. Internationalised names (RFC 5890) are kept as U-labels (readable, and what the NFC rule
 * above already stored), and an A-label ("xn--...") given by an admin or arriving in RCPT from a
 * sender without SMTPUTF8 maps to the same name; before, `xn--bcher-kva.test` and `bücher.test` were
 * two domains and each received only the mail written its way. A name that can never receive mail is
 * refused rather than stored: characters outside letters, digits and hyphens in the ASCII form
 * (RFC 5321 4.1.2 sub-domain, RFC 1123 2.1; "_" included), and an all-digit last label (an IPv4
 * address, which mail writes as the literal [192.0.2.1], RFC 5321 4.1.3; RFC 3696 2).
 */
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Lower-cases and checks a domain name; a single trailing dot (absolute form) is dropped; A-labels become U-labels. */
export function normalizeDomain(input: string): string {
  let d = input.normalize('NFC').toLowerCase();
  if (d.endsWith('.')) d = d.slice(0, -1);
  const bad = (why: string): never => {
    throw new MailroomError('BAD_DOMAIN', `invalid domain name ${JSON.stringify(input)}: ${why}`);
  };
  if (d.length === 0) bad('empty');
  if (octets(d) > MAX_DOMAIN_OCTETS) bad(`longer than ${MAX_DOMAIN_OCTETS} octets`);
  for (const label of d.split('.')) {
    if (label.length === 0) bad('empty label');
    if (octets(label) > MAX_LABEL_OCTETS) bad(`label longer than ${MAX_LABEL_OCTETS} octets`);
    if (FORBIDDEN.test(label)) bad('contains a forbidden character');
    if (label.startsWith('-') || label.endsWith('-')) bad('label starts or ends with a hyphen');
  }
  // UTS #46 processing, as browsers and IDNA-aware mailers apply it (WHATWG URL domainToASCII).
  const ascii = domainToASCII(d);
  if (ascii === '') bad('not a valid internationalised domain name (RFC 5890)');
  const labels = ascii.split('.');
  for (const label of labels) {
    if (!LDH_LABEL.test(label)) bad(`label "${label}" may only hold letters, digits and hyphens`);
    if (label.length > MAX_LABEL_OCTETS) bad(`label longer than ${MAX_LABEL_OCTETS} octets in ASCII form`);
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) bad('an IP address, not a domain name');
  if (octets(ascii) > MAX_DOMAIN_OCTETS) bad(`longer than ${MAX_DOMAIN_OCTETS} octets in ASCII form`);
  return domainToUnicode(ascii);
}

/** Lower-cases and checks `local@domain`; returns the normalised address and its parts. */
export function parseAddress(input: string): { address: string; local: string; domain: string } {
  const at = input.lastIndexOf('@');
  const bad = (why: string): never => {
    throw new MailroomError('BAD_ADDRESS', `invalid address ${JSON.stringify(input)}: ${why}`);
  };
  if (at < 0) bad('no @');
  const local = input.slice(0, at).normalize('NFC').toLowerCase();
  if (local.length === 0) bad('empty local part');
  if (octets(local) > MAX_LOCAL_OCTETS) bad(`local part longer than ${MAX_LOCAL_OCTETS} octets`);
  // Quoted local parts (RFC 5321 4.1.2) are legal but never needed for accounts we create.
  if (FORBIDDEN.test(local)) bad('local part contains a forbidden character');
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..'))
    bad('misplaced dot in local part');
  let domain: string;
  try {
    domain = normalizeDomain(input.slice(at + 1));
  } catch (err) {
    return bad(err instanceof MailroomError ? err.message : 'bad domain');
  }
  return { address: `${local}@${domain}`, local, domain };
}

/** An alias source: a full address, or `@domain` for the catch-all of a domain. */
export function parseAliasSource(input: string): { source: string; domain: string } {
  if (input.startsWith('@')) {
    const domain = normalizeDomain(input.slice(1));
    return { source: `@${domain}`, domain };
  }
  const { address, domain } = parseAddress(input);
  return { source: address, domain };
}

/** INBOX is case-insensitive (RFC 9051 5.1); every other name is kept as given. */
export function normalizeMailboxName(name: string): string {
  return name.toUpperCase() === 'INBOX' ? 'INBOX' : name;
}
