// The one place the HTTP side calls the server's shared authenticator (so a change of its signature is a one-line fix here).
import type { Authenticate } from '../auth/authenticator.js';
import type { HttpAuthenticate } from './jmap-routes.js';

/** HTTP Basic logins go through the same authenticator and failure limiter as SMTP, IMAP and POP3. */
export function httpAuthenticator(authenticate: Authenticate): HttpAuthenticate {
  return (username, password, remoteAddress) => authenticate(username, password, remoteAddress, 'http');
}
