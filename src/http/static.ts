// Serves the web mail's built files (dist/web) at "/": a fixed file list read at start, types, caching, index.html for client routes.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_SECURITY_HEADERS, HSTS, WEB_PAGE_CSP, WEB_SECURITY_HEADERS } from './security-headers.js';

/** dist/web beside dist/http (built) or src/http (tsx): the package root's dist/web either way. */
export const DEFAULT_WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

interface WebFile {
  body: Buffer;
  type: string;
  etag: string;
  /** Vite's hashed assets (assets/name-HASH.ext) never change under their name: cached for a year. */
  immutable: boolean;
}

/**
 * The files, read once: the build is small (well under a megabyte), and serving only what was listed at
 * start means no request path ever reaches the file system (no traversal, no symlink surprises).
 */
function loadFiles(root: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  if (!existsSync(root)) return files;
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile() && TYPES[extname(name)] !== undefined) {
        const body = readFileSync(path);
        const url = '/' + relative(root, path).split(sep).join('/');
        files.set(url, {
          body,
          type: TYPES[extname(name)]!,
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
          immutable: url.startsWith('/assets/'),
        });
      }
    }
  };
  walk(root);
  return files;
}

export interface StaticFiles {
  /** Serves GET/HEAD of `pathname`; false when there is nothing to serve (the caller answers 404). */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string, secure: boolean): boolean;
  readonly available: boolean;
}

export function createStaticFiles(root: string = DEFAULT_WEB_DIR): StaticFiles {
  let files: Map<string, WebFile> | null = null;
  const get = () => (files ??= loadFiles(root));
  return {
    get available() {
      return get().has('/index.html');
    },
    serve(req, res, pathname, secure) {
      const all = get();
      let file = all.get(pathname === '/' ? '/index.html' : pathname);
      // Client routes (/mailbox/..., no file extension) get the page; the client reads the path.
      if (!file && extname(pathname) === '' && !pathname.startsWith('/assets/'))
        file = all.get('/index.html');
      if (!file) return false;
      const isPage = file.type.startsWith('text/html');
      const headers: Record<string, string | number> = {
        ...(isPage
          ? { ...WEB_SECURITY_HEADERS, 'Content-Security-Policy': WEB_PAGE_CSP }
          : API_SECURITY_HEADERS),
        'Content-Type': file.type,
        ETag: file.etag,
        // The page is revalidated every time (it names the current hashed assets); assets are immutable.
        'Cache-Control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      };
      if (secure) headers['Strict-Transport-Security'] = HSTS;
      if (req.headers['if-none-match'] === file.etag) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      headers['Content-Length'] = file.body.length;
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : file.body);
      return true;
    },
  };
}
