#!/usr/bin/env node
// The `mailroom` executable (dist/cli.js): hands argv and the real stdio to cli/main.ts and exits with its status.
import { EARLY_SERVE_FLAGS, applyV8Flags } from './server/heap-tuning.js';

// Before the server's modules load (hence main.js is imported below, not at the top): see heap-tuning.ts.
if (process.argv.slice(2).includes('serve')) applyV8Flags(EARLY_SERVE_FLAGS);
const { main } = await import('./cli/main.js');

// Everything the server and the admin commands create (mailroom.db and SQLite's -wal/-shm, blobs,
// spool files, folders, the TLS key) is for the server's user alone: 0600 files, 0700 folders
// (issue 8 item 9). The umask covers files SQLite and libraries create, where we pass no mode.
process.umask(0o077);

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const status = await main({
  argv: process.argv.slice(2),
  cwd: process.cwd(),
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin,
});
process.exitCode = status;
// Anything still holding the event loop after the command finished (a stray timer or socket) must not
// keep the process alive; the unref'd timer exits only if something would otherwise hang.
setTimeout(() => process.exit(status), 2_000).unref();
