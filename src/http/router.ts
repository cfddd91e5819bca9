// The HTTP routes (pure): method and path -> a route with its path parameters, 404 or 405 (RFC 9110 15.5.6); the web mail's files elsewhere.

export type RouteName =
  'session' | 'api' | 'download' | 'upload' | 'eventsource' | 'websocket' | 'signin' | 'signout' | 'static';

export type RouteMatch =
  | { kind: 'route'; route: RouteName; params: Record<string, string> }
  | { kind: 'not-found' }
  | { kind: 'method-not-allowed'; allow: string };

interface RouteSpec {
  route: RouteName;
  methods: readonly string[];
  pattern: RegExp;
  params: readonly string[];
}

/** A path segment as it arrives: percent-encoded, no "/". */
const SEGMENT = '([^/]+)';

const ROUTES: readonly RouteSpec[] = [
  { route: 'session', methods: ['GET', 'HEAD'], pattern: /^\/\.well-known\/jmap$/, params: [] },
  { route: 'api', methods: ['POST'], pattern: /^\/jmap\/api\/?$/, params: [] },
  {
    route: 'download',
    methods: ['GET', 'HEAD'],
    pattern: new RegExp(`^/jmap/download/${SEGMENT}/${SEGMENT}/${SEGMENT}$`),
    params: ['accountId', 'blobId', 'name'],
  },
  {
    route: 'upload',
    methods: ['POST'],
    pattern: new RegExp(`^/jmap/upload/${SEGMENT}/?$`),
    params: ['accountId'],
  },
  { route: 'eventsource', methods: ['GET'], pattern: /^\/jmap\/eventsource\/?$/, params: [] },
  // JMAP over WebSocket (RFC 8887): the upgrade GET (http/jmap-websocket.ts); a plain GET gets 426.
  { route: 'websocket', methods: ['GET'], pattern: /^\/jmap\/ws\/?$/, params: [] },
  // The web mail's browser sign-in (a session cookie) and sign-out (web-routes.ts).
  { route: 'signin', methods: ['POST'], pattern: /^\/web\/signin$/, params: [] },
  { route: 'signout', methods: ['POST'], pattern: /^\/web\/signout$/, params: [] },
  // Everything else outside /jmap/, /web/ and /.well-known/ is the web mail's files (static.ts).
  {
    route: 'static',
    methods: ['GET', 'HEAD'],
    pattern: /^\/(?!jmap\/|jmap$|web\/|\.well-known\/)/,
    params: [],
  },
];

/** Matches the path (without query); parameters are percent-decoded, and one that does not decode is a 404. */
export function matchRoute(method: string, pathname: string): RouteMatch {
  for (const spec of ROUTES) {
    const m = spec.pattern.exec(pathname);
    if (!m) continue;
    if (!spec.methods.includes(method)) return { kind: 'method-not-allowed', allow: spec.methods.join(', ') };
    const params: Record<string, string> = {};
    for (const [i, name] of spec.params.entries()) {
      try {
        params[name] = decodeURIComponent(m[i + 1]!);
      } catch {
        return { kind: 'not-found' };
      }
    }
    return { kind: 'route', route: spec.route, params };
  }
  return { kind: 'not-found' };
}
