// APPEND message literals as the receiver sees them: refusals before "+" (quota), NUL without literal8, message counting.

/** Why APPEND messages are refused before their literal is read (the connection decides; see refuseAppends). */
export interface AppendRefusal {
  code: 'OVERQUOTA';
  text: string;
}

/**
 * Asked when an APPEND message literal (or CATENATE TEXT part) is announced, before "+" invites it:
 * `bytes` is what the command's streamed literals add up to with this one, `messages` how many messages
 * they make at least (RFC 3502 MULTIAPPEND; a CATENATE message counts once). Both are lower bounds of
 * what the command would store (CATENATE URLs and binary-to-base64 only add), so a refusal here is
 * never wrong: RFC 9208 4.3 OVERQUOTA before the client uploads the message. null admits it.
 */
export type AppendQuotaCheck = (bytes: number, messages: number) => AppendRefusal | null;

/**
 * RFC 9051 4.3 / 9 (literal = "{" number64 ["+"] "}" CRLF *CHAR8, CHAR8 = %x01-ff): a literal cannot
 * hold NUL; only a literal8 ("~{n}", RFC 3516 4.4 / RFC 9051 4.3.1) carries binary data. A message
 * literal with NUL in it is a protocol error in the client's command: BAD (RFC 9051 7.1.3), nothing stored.
 */
export const NUL_IN_LITERAL = 'NUL octet in a literal; binary data needs a literal8 (~{n})';

/**
 * Whether the streamed literal just announced begins a message (for the quota's message count): an
 * APPEND message literal does; a CATENATE TEXT part (RFC 4469 5) only when a CATENATE list opens in
 * the same line, else it continues one already counted (or one begun by URLs: not counted, a lower bound).
 */
export function startsMessage(line: Buffer): boolean {
  const text = line.toString('latin1');
  if (!/[ (]TEXT +~?\{[0-9]+\+?\}$/i.test(text)) return true;
  return /(^| )CATENATE +\(/i.test(text);
}
