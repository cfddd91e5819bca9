// The one place the HTTP side calls the server's shared authenticator (so a change of its signature is a one-line fix here).
import type { Authenticate, AuthenticateBearer } from '../auth/authenticator.js';
import type { AuthResult } from '../smtp/server/services.js';
import type { HttpAuthenticate } from './jmap-routes.js';

/** HTTP Basic logins go through the same authenticator and failure limiter as SMTP, IMAP and POP3. */
export function httpAuthenticator(authenticate: Authenticate): HttpAuthenticate {
  return (username, password, remoteAddress) => authenticate(username, password, remoteAddress, 'http');
}

/** How the HTTP side checks an API token (Bearer). */
export type HttpAuthenticateBearer = (token: string, remoteAddress: string) => Promise<AuthResult>;

/** The challenge of a 401 to a failed Bearer (RFC 6750 3, 3.1: the token is unknown, revoked or malformed). */
export const BEARER_CHALLENGE = 'Bearer realm="mailroom", error="invalid_token"';

/** Bearer tokens through the same limiter (and log lines) as passwords; none configured: every token fails. */
export function httpBearerAuthenticator(bearer: AuthenticateBearer | undefined): HttpAuthenticateBearer {
  return bearer
    ? (token, remoteAddress) => bearer(token, remoteAddress, 'http')
    : () => Promise.resolve({ kind: 'failed' });
}
