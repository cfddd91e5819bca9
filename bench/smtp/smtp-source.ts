// Runs Postfix's smtp-source as a load generator and times it (it reports no latencies, only completion).
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface SmtpSourceOptions {
  binary: string; // path to smtp-source
  host: string;
  port: number;
  sessions: number; // -s
  messages: number; // -m: total over all sessions
  size: number; // -l: payload bytes, headers excluded
  perConnection: 'many' | 'one'; // 'many' adds -d (don't disconnect between messages)
  from: string;
  to: string;
  deadlineMs: number; // killed after this; the result is then marked as timed out
}

export interface SmtpSourceResult {
  ok: boolean; // exited 0 within the deadline (smtp-source aborts on any unexpected reply)
  elapsedMs: number;
  stderr: string;
  timedOut: boolean;
}

/** The argument list, separate so the exact command is visible in the output and testable. */
export function smtpSourceArgs(o: SmtpSourceOptions): string[] {
  return [
    ...(o.perConnection === 'many' ? ['-d'] : []),
    '-s',
    String(o.sessions),
    '-m',
    String(o.messages),
    '-l',
    String(o.size),
    '-M',
    'bench-client.test',
    '-f',
    o.from,
    '-t',
    o.to,
    `inet:${o.host}:${o.port}`,
  ];
}

export function runSmtpSource(o: SmtpSourceOptions): Promise<SmtpSourceResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(o.binary, smtpSourceArgs(o), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 4000) stderr += s;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.deadlineMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, elapsedMs: performance.now() - started, stderr: err.message, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        ok: code === 0 && !timedOut,
        elapsedMs: performance.now() - started,
        stderr: stderr.trim(),
        timedOut,
      });
    });
  });
}
