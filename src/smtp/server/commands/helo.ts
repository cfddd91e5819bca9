// EHLO and HELO (RFC 5321 4.1.1.1): greet, reset any transaction, list the extensions this session may use.
import { ehloReply, heloReply } from '../../reply-codes.js';
import { authAllowed, resetTransaction, type SessionCore } from './context.js';

export function ehloExtensions(core: SessionCore): string[] {
  const ext = [
    'PIPELINING', // RFC 2920
    `SIZE ${core.policy.maxMessageSize}`, // RFC 1870
    '8BITMIME', // RFC 6152
    'SMTPUTF8', // RFC 6531
    'ENHANCEDSTATUSCODES', // RFC 2034
  ];
  // RFC 3207 4.2: never offer STARTTLS again once TLS is active.
  if (core.policy.tlsAvailable && !core.peer.secure) ext.push('STARTTLS');
  if (authAllowed(core)) ext.push('AUTH PLAIN LOGIN'); // RFC 4954
  // RFC 8689 2: REQUIRETLS is offered only in a TLS session (it promises TLS-protected relaying onwards).
  if (core.peer.secure) ext.push('REQUIRETLS');
  // RFC 4468 3: BURL with the URL schemes we resolve; submission only (it needs an authenticated user).
  if (core.policy.role !== 'mx' && core.services.burl) ext.push('BURL imap');
  ext.push('CHUNKING', 'BINARYMIME', 'DSN', 'HELP'); // RFC 3030, RFC 3030, RFC 3461
  return ext;
}

export function handleEhlo(core: SessionCore, domain: string): void {
  core.greeting = 'EHLO';
  core.heloName = domain;
  resetTransaction(core);
  core.reply(ehloReply(core.policy.hostname, domain, ehloExtensions(core)));
}

export function handleHelo(core: SessionCore, domain: string): void {
  core.greeting = 'HELO';
  core.heloName = domain;
  resetTransaction(core);
  core.reply(heloReply(core.policy.hostname, domain));
}
