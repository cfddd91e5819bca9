// Pure SASL PLAIN decoding (RFC 4616) and the strict base64 check shared by SMTP, IMAP and POP3 SASL exchanges.

export type SaslDecodeFailure = 'bad-base64' | 'malformed';

export type PlainResult =
  { ok: true; authzid: string; authcid: string; password: string } | { ok: false; reason: SaslDecodeFailure };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Strict base64 (RFC 4648 4, padded) as SASL responses use it (RFC 4954 4). Node's decoder silently skips bad
 * characters, so check first. A lone "=" is the empty response (RFC 4954 4). Null when not valid.
 */
export function decodeSaslBase64(text: string): Buffer | null {
  if (text === '=') return Buffer.alloc(0);
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

/** message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 2); authcid and passwd must not be empty. */
export function decodeSaslPlain(base64: string): PlainResult {
  const bytes = decodeSaslBase64(base64);
  if (bytes === null) return { ok: false, reason: 'bad-base64' };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const parts = text.split('\0');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [authzid, authcid, password] = parts as [string, string, string];
  if (authcid === '' || password === '') return { ok: false, reason: 'malformed' };
  return { ok: true, authzid, authcid, password };
}

/** For clients and tests: the base64 PLAIN response for these credentials. */
export function encodeSaslPlain(authcid: string, password: string, authzid = ''): string {
  return Buffer.from(`${authzid}\0${authcid}\0${password}`, 'utf8').toString('base64');
}
