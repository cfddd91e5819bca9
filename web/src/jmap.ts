// The web mail's JMAP client (RFC 8620/8621 over fetch and EventSource): session, method calls, uploads, push; cookie auth with the CSRF token.

export const CAPS = {
  core: 'urn:ietf:params:jmap:core',
  mail: 'urn:ietf:params:jmap:mail',
  submission: 'urn:ietf:params:jmap:submission',
  vacation: 'urn:ietf:params:jmap:vacationresponse',
  html: 'urn:mailroom:params:jmap:html',
} as const;

export type Invocation = [string, Record<string, unknown>, string];

/** A method-level error (RFC 8620 3.6.2) thrown by `call1`. */
export class MethodFailure extends Error {
  constructor(
    readonly method: string,
    readonly type: string,
    description?: string,
  ) {
    super(`${method}: ${type}${description ? ` (${description})` : ''}`);
  }
}

export interface Session {
  username: string;
  accountId: string;
  apiUrl: string;
  downloadUrl: string;
  uploadUrl: string;
  eventSourceUrl: string;
  capabilities: Record<string, Record<string, unknown>>;
}

/** Every request says it is the web mail: a 401 then carries no Basic challenge (no browser password dialog). */
const CLIENT_HEADER = { 'X-Mailroom-Client': 'web' };

async function fetchSession(): Promise<{ session: Session; csrf: string } | null> {
  const res = await fetch('/.well-known/jmap', { headers: CLIENT_HEADER, credentials: 'same-origin' });
  if (res.status === 401 || res.status === 403) return null;
  if (!res.ok) throw new Error(`session: HTTP ${res.status}`);
  const body = (await res.json()) as Record<string, unknown>;
  const primary = body.primaryAccounts as Record<string, string>;
  const accounts = Object.keys(body.accounts as Record<string, unknown>);
  return {
    csrf: res.headers.get('X-Mailroom-CSRF') ?? '',
    session: {
      username: String(body.username),
      accountId: primary[CAPS.mail] ?? accounts[0] ?? '',
      apiUrl: String(body.apiUrl),
      downloadUrl: String(body.downloadUrl),
      uploadUrl: String(body.uploadUrl),
      eventSourceUrl: String(body.eventSourceUrl),
      capabilities: body.capabilities as Record<string, Record<string, unknown>>,
    },
  };
}

export class JmapClient {
  private constructor(
    readonly session: Session,
    private readonly csrf: string,
  ) {}

  get accountId(): string {
    return this.session.accountId;
  }

  /** The signed-in session of this browser (its cookie), or null: show the sign-in form. */
  static async resume(): Promise<JmapClient | null> {
    const found = await fetchSession();
    return found ? new JmapClient(found.session, found.csrf) : null;
  }

  /** Signs in; an error message for the form on failure. */
  static async signIn(email: string, password: string): Promise<JmapClient | string> {
    const res = await fetch('/web/signin', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { ...CLIENT_HEADER, 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    if (res.status === 401) return 'Wrong email or password.';
    if (res.status === 429) return 'Too many failed sign-ins. Wait a moment and try again.';
    if (res.status === 403) return 'Signing in needs a secure (https) connection.';
    if (!res.ok) return `Sign-in failed (HTTP ${res.status}).`;
    const client = await JmapClient.resume();
    return client ?? 'Signed in, but the session could not be read.';
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...CLIENT_HEADER, 'X-Mailroom-CSRF': this.csrf, ...extra };
  }

  async signOut(): Promise<void> {
    await fetch('/web/signout', { method: 'POST', credentials: 'same-origin', headers: this.headers() });
  }

  /** One JMAP request (RFC 8620 3.3) with every capability the web mail uses. */
  async call(methodCalls: Invocation[]): Promise<Invocation[]> {
    const res = await fetch(this.session.apiUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: this.headers({ 'Content-Type': 'application/json' }),
      // Only what the server offers: an unknown capability would fail the whole request (RFC 8620 3.6.1),
      // while a method the server lacks fails alone (unknownMethod) and the rest of the page still works.
      body: JSON.stringify({
        using: Object.values(CAPS).filter((c) => c in this.session.capabilities),
        methodCalls,
      }),
    });
    if (res.status === 401) throw new SignedOut();
    if (!res.ok) throw new Error(`JMAP request failed: HTTP ${res.status}`);
    return ((await res.json()) as { methodResponses: Invocation[] }).methodResponses;
  }

  /** One method; its arguments, or a MethodFailure. */
  async call1(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const [response] = await this.call([[name, { accountId: this.accountId, ...args }, '0']]);
    return resultOf(response, name);
  }

  /** Blob upload (RFC 8620 6.1). */
  async upload(file: Blob): Promise<{ blobId: string; type: string; size: number }> {
    const url = this.session.uploadUrl.replace('{accountId}', encodeURIComponent(this.accountId));
    const res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: this.headers({ 'Content-Type': file.type || 'application/octet-stream' }),
      body: file,
    });
    if (!res.ok) throw new Error(`upload failed: HTTP ${res.status}`);
    return (await res.json()) as { blobId: string; type: string; size: number };
  }

  /** The download URL of a blob (RFC 8620 6.2), always as an attachment (the server says so). */
  downloadUrl(blobId: string, name: string, type: string): string {
    return this.session.downloadUrl
      .replace('{accountId}', encodeURIComponent(this.accountId))
      .replace('{blobId}', encodeURIComponent(blobId))
      .replace('{name}', encodeURIComponent(name))
      .replace('{type}', encodeURIComponent(type));
  }

  /** Push (RFC 8620 7.3): calls `onChange` on every StateChange; the browser reconnects by itself. */
  events(onChange: () => void): () => void {
    const url = this.session.eventSourceUrl
      .replace('{types}', '*')
      .replace('{closeafter}', 'no')
      .replace('{ping}', '60');
    const source = new EventSource(url, { withCredentials: true });
    source.addEventListener('state', () => onChange());
    return () => source.close();
  }
}

/** Thrown when the session ended (expired, signed out elsewhere, password changed). */
export class SignedOut extends Error {
  constructor() {
    super('signed out');
  }
}

export function resultOf(response: Invocation | undefined, name: string): Record<string, unknown> {
  if (!response) throw new MethodFailure(name, 'serverFail', 'no response');
  if (response[0] === 'error') {
    throw new MethodFailure(name, String(response[1].type), response[1].description as string | undefined);
  }
  return response[1];
}
