// DKIM and ARC verification of one message (mailauth's verifier with cached keys): the part of the checks a worker thread can run.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { cachedMailauth, type MailauthResolver } from './dkim-keys.js';

/** The message as stored: bytes in memory, a stream of them, or the spool file's path (read here). */
export type DkimMessage = Readable | Buffer | readonly Buffer[] | { path: string };

/** One row of mailauth's verifier: a DKIM-Signature, or the newest ARC-Message-Signature / ARC-Seal. */
export interface DkimRow {
  /** '' when the signature named none (such a row is not a DKIM result for DMARC). */
  signingDomain: string;
  /** mailauth's spelling (pass, fail, neutral, temperr, ...); verify.ts maps it. */
  result: string;
  /** The resinfo for Authentication-Results, as mailauth formats it. */
  info: string;
}

/** What verify.ts needs of the DKIM/ARC pass; plain data, so it crosses a worker boundary unchanged. */
export interface DkimOutcome {
  rows: DkimRow[];
  /** Addresses of the From field(s), as mailauth's verifier read them. */
  headerFrom: string[];
  /** The arc= resinfo (RFC 8617), or null when mailauth gives none. */
  arcInfo: string | null;
}

/** Runs the DKIM/ARC pass; verify.ts's default is `verifyDkim` on this thread, checks.ts may hand it to a worker. */
export type DkimRunner = (
  message: DkimMessage,
  sender: string,
  lookup: MailauthResolver,
) => Promise<DkimOutcome>;

function isPath(message: DkimMessage): message is { path: string } {
  return typeof (message as { path?: unknown }).path === 'string' && !('pipe' in message);
}

/**
 * mailauth's DKIM verifier reads the message once: it parses the headers, hashes the body per canonicalization
 * and checks every DKIM-Signature and the newest ARC-Message-Signature, its keys parsed once per record text
 * (dkim-keys.ts); then `arc()` judges the chain it found (RFC 8617 5.2). Every DNS question goes to `lookup`.
 */
export async function verifyDkim(
  message: DkimMessage,
  sender: string,
  lookup: MailauthResolver,
): Promise<DkimOutcome> {
  const mailauth = cachedMailauth();
  const verifier = mailauth.newDkimVerifier({ resolver: lookup, sender });
  const done = finished(verifier);
  if (Buffer.isBuffer(message)) verifier.end(message);
  else if (Array.isArray(message)) {
    for (const chunk of message as readonly Buffer[]) verifier.write(chunk);
    verifier.end();
  } else {
    const stream: Readable = isPath(message) ? createReadStream(message.path) : (message as Readable);
    stream.once('error', (e: Error) => verifier.destroy(e));
    stream.pipe(verifier);
  }
  await done;
  const arcResult = await mailauth.arc(verifier.arc, { resolver: lookup });
  return {
    rows: verifier.results.map((r) => ({
      signingDomain: r.signingDomain ?? '',
      result: r.status.result,
      info: r.info,
    })),
    headerFrom: [...verifier.headerFrom],
    arcInfo: arcResult.info ?? null,
  };
}
