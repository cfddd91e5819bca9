// Vite build of the web mail: web/ -> dist/web, Preact JSX through esbuild, nothing inline (the page CSP has no 'unsafe-inline' script).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: resolve(here, '..', 'dist', 'web'),
    emptyOutDir: true,
    // No inline module-preload polyfill script, no data: URIs for assets: everything is a file on our origin.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
  },
});
