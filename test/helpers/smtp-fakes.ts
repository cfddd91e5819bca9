// In-memory fake SMTP services for tests: a tiny router, fixed accounts, memory spool, recorded deliveries.
import type { DeliveryRequest, SpooledBody } from '../../src/store/store.js';
import type {
  AuthResult,
  BodySpool,
  RouteResult,
  SmtpPeer,
  SmtpPolicy,
  SmtpServices,
} from '../../src/smtp/server/services.js';

export interface FakeServices extends SmtpServices {
  delivered: DeliveryRequest[];
  bodies: string[];
  aborted: number;
  failDeliver: boolean;
  /** What storageLow() answers: the free-space floor is crossed. */
  lowStorage: boolean;
}

export function fakeServices(
  options: { localDomains?: string[]; users?: Record<string, string> } = {},
): FakeServices {
  const localDomains = new Set(options.localDomains ?? ['foo.com', 'example.test']);
  const users: Record<string, string> = options.users ?? {
    'jones@foo.com': 'x',
    'brown@foo.com': 'x',
    'alice@example.test': 'alice-secret',
    'bob@example.test': 'bob-secret',
  };
  const ids = Object.keys(users);
  let nextId = 1;
  const services: FakeServices = {
    delivered: [],
    bodies: [],
    aborted: 0,
    failDeliver: false,
    lowStorage: false,
    storageLow: () => services.lowStorage,
    routeRecipient(address: string, authenticatedAs: string | null): RouteResult {
      const lower = address.toLowerCase();
      // Like the real router: bare postmaster (RFC 5321 4.5.1) is the first account's.
      if (lower === 'postmaster') return { kind: 'accept', local: [{ accountId: 1 }], remote: [] };
      const domain = lower.slice(lower.lastIndexOf('@') + 1);
      if (localDomains.has(domain)) {
        const idx = ids.indexOf(lower);
        return idx < 0
          ? { kind: 'unknown-user' }
          : { kind: 'accept', local: [{ accountId: idx + 1 }], remote: [] };
      }
      if (authenticatedAs === null) return { kind: 'relay-denied' };
      return { kind: 'accept', local: [], remote: [address] };
    },
    async authenticate(username: string, password: string): Promise<AuthResult> {
      if (username === 'throttled@example.test') return { kind: 'throttled', retryAfterMs: 1000 };
      return users[username] === password ? { kind: 'ok', account: username } : { kind: 'failed' };
    },
    // Own address or +tag of it (the real check, with aliases, is src/mail/submission.ts senderOwnedBy).
    senderAllowed: (sender: string, account: string) =>
      sender.toLowerCase().replace(/\+[^@]*@/, '@') === account,
    openSpool(): BodySpool {
      const chunks: Buffer[] = [];
      let size = 0;
      return {
        write(chunk: Buffer) {
          chunks.push(Buffer.from(chunk));
          size += chunk.length;
        },
        async finish(): Promise<SpooledBody> {
          return { kind: 'memory', chunks, size };
        },
        abort() {
          services.aborted++;
        },
      };
    },
    async deliver(request: DeliveryRequest): Promise<void> {
      if (services.failDeliver) throw new Error('disk on fire');
      services.delivered.push(request);
      const body = request.body.kind === 'memory' ? Buffer.concat(request.body.chunks).toString('utf8') : '';
      services.bodies.push(body);
    },
    newQueueId: () => `Q${nextId++}`,
    now: () => new Date(Date.UTC(2026, 10, 24, 10, 0, 0)),
  };
  return services;
}

export function testPolicy(overrides: Partial<SmtpPolicy> = {}): SmtpPolicy {
  return {
    role: 'mx',
    hostname: 'mx.foo.com',
    maxMessageSize: 10_000,
    maxRecipients: 10,
    tlsAvailable: false,
    allowLoopbackPlaintext: true,
    requireAuth: false,
    ...overrides,
  };
}

export function testPeer(overrides: Partial<SmtpPeer> = {}): SmtpPeer {
  return {
    remoteAddress: '192.0.2.7',
    remotePort: 40000,
    secure: false,
    loopback: false,
    ...overrides,
  };
}
