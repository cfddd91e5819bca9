// HTTP Basic credentials (RFC 7617): the Authorization header -> user-id and password, pure.

/** The challenge sent with every 401 (RFC 7617 2; charset tells clients we decode UTF-8, 2.1). */
export const BASIC_CHALLENGE = 'Basic realm="mailroom", charset="UTF-8"';

/** Longest Authorization value we decode: an address (254) and a password (4096) in base64, with room. */
const MAX_CREDENTIALS_LENGTH = 6 * 1024;

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `Basic <base64(user-id ":" password)>` -> the pair, or null for anything else (another scheme,
 * bad base64, no colon, bad UTF-8, control characters in the user-id, RFC 7617 2). The user-id ends
 * at the first colon; the password may contain colons.
 */
export function parseBasicAuth(header: string | undefined): { username: string; password: string } | null {
  if (header === undefined || header.length > MAX_CREDENTIALS_LENGTH) return null;
  const m = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (!m) return null;
  let text: string;
  try {
    text = fatalUtf8.decode(Buffer.from(m[1]!, 'base64'));
  } catch {
    return null;
  }
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  const username = text.slice(0, colon);
  const password = text.slice(colon + 1);
  // Control characters are refused in the user-id (RFC 7617 2), NUL in either.
  if (/[\x00-\x1f\x7f]/.test(username) || password.includes('\0')) return null;
  return { username, password };
}
