// Every POP3 reply text in one place (DESIGN habit 6), with the RFC 2449 8 / RFC 3206 response codes.

/** Status lines are `+OK text` or `-ERR [CODE] text` and end in CRLF (RFC 1939 3). */
export const ok = (text: string): string => `+OK ${text}\r\n`;
export const err = (text: string): string => `-ERR ${text}\r\n`;

export const R = {
  greeting: (hostname: string) => ok(`${hostname} Mailroom POP3 server ready`),
  // RFC 1939 7 leaves USER's positive answer to the server; answering the same for every name keeps
  // account existence secret (RFC 1939 13, RFC 4954 6 spirit).
  userOk: ok('Send PASS'),
  passWithoutUser: err('Send USER first'),
  // RFC 3206 4: [AUTH] says the problem is with the credentials or how they were given, so a client
  // asks the user rather than retrying later. Plaintext over an insecure channel is such a case.
  plaintextRefused: err('[AUTH] Plaintext authentication disallowed on insecure connections; use STLS'),
  authFailed: err('[AUTH] Authentication failed'),
  // RFC 3206 4: [SYS/TEMP] is a temporary problem on our side; throttling ends by itself.
  throttled: err('[SYS/TEMP] Too many failed logins; try again later'),
  inUse: err('[IN-USE] Maildrop is locked by another POP3 session'), // RFC 2449 8.1.2
  maildropError: err('[SYS/TEMP] Cannot open the maildrop now; try again later'),
  loggedIn: (count: number, size: number) => ok(`Logged in; maildrop has ${count} messages (${size} octets)`),
  unknownMechanism: err('Unsupported SASL mechanism; PLAIN is supported'),
  saslContinue: '+ \r\n', // RFC 5034 4: an empty server challenge
  saslCancelled: err('Authentication cancelled'), // RFC 5034 4: client sent "*"
  saslBadResponse: err('[AUTH] Malformed SASL response'),
  authzidRefused: err('[AUTH] Authorization identity must be empty or equal to the user'),
  mechanismsFollow: ok('Supported mechanisms follow'),
  capaFollows: ok('Capability list follows'),
  stlsBegin: ok('Begin TLS negotiation'),
  stlsUnavailable: err('STLS not available'),
  stlsAlreadyActive: err('Command not permitted when TLS active'), // RFC 2595 4
  notInThisState: err('Command not valid in this state'),
  unknownCommand: err('Unknown command'),
  lineTooLong: err('Line too long'),
  tooManyErrors: err('Too many errors; closing connection'),
  tooManyAuthFailures: err('[AUTH] Too many failed logins; closing connection'),
  noSuchMessage: err('No such message'),
  alreadyDeleted: (n: number) => err(`Message ${n} already deleted`),
  deleted: (n: number) => ok(`Message ${n} deleted`),
  stat: (count: number, size: number) => ok(`${count} ${size}`),
  listFollows: (count: number, size: number) => ok(`${count} messages (${size} octets)`),
  uidlFollows: ok('Unique-id listing follows'),
  retr: (size: number) => ok(`${size} octets`),
  top: ok('Top of message follows'),
  noop: ok('Nothing to do'),
  rset: (count: number, size: number) => ok(`Maildrop has ${count} messages (${size} octets)`),
  bye: (hostname: string) => ok(`${hostname} Mailroom POP3 server signing off`),
  byeAfterUpdate: (hostname: string, left: number) =>
    ok(`${hostname} Mailroom POP3 server signing off (${left} messages left)`),
  // RFC 1939 6: if the removal fails, QUIT answers -ERR; nothing was removed (one transaction).
  updateFailed: err('[SYS/TEMP] Deleted messages could not be removed; none were'),
  messageVanished: err('[SYS/TEMP] Message is no longer available (removed by another client)'),
  autologout: err('Autologout; idle for too long'),
  /** A deadline activity does not extend has passed (net/deadlines.ts): which one, in words. */
  deadline: (what: string) => err(`Timeout: ${what}; closing connection`),
  shuttingDown: err('[SYS/TEMP] Server shutting down; no messages were deleted'),
  accountEnded: (why: string): string => err(`[AUTH] ${why}; no messages were deleted`),
  internalError: err('[SYS/TEMP] Internal error; no messages were deleted'),
} as const;

/** The terminating line of a multi-line response (RFC 1939 3). */
export const END = '.\r\n';
