// Error types shared by every module: a stable `code` for machines, a message for people.

/** An error with a stable machine-readable code (e.g. 'DOMAIN_NOT_LOCAL'); the CLI prints its message. */
export class MailroomError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MailroomError';
  }
}

/** Whose fault a protocol error was: decides the log level (client faults are not our alarms). */
export type FaultSide = 'client' | 'server';

/**
 * A protocol-level refusal, thrown deep and caught once at the command boundary, where it is
 * written as one reply (SMTP: `code enhanced text`; IMAP: NO/BAD; POP3: -ERR).
 */
export class ProtocolError extends Error {
  constructor(
    readonly code: number,
    readonly enhanced: string | undefined,
    readonly text: string,
    readonly side: FaultSide = 'client',
  ) {
    super(`${code}${enhanced ? ' ' + enhanced : ''} ${text}`);
    this.name = 'ProtocolError';
  }
}
