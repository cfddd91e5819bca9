// `--log-format text`: pino's JSON lines rewritten as one readable line each (time, level, message, key=value).
import type { DestinationStream } from 'pino';

/** Fields every line has or that say nothing to a reader of one server's log. */
const SKIPPED = new Set(['time', 'level', 'msg', 'pid', 'hostname']);

/** A bare value: no space, quote, `=` or control character (so `key=value` splits unambiguously). */
const BARE = /^[^\s"=\\\x00-\x1f\x7f]+$/;

function formatValue(value: unknown): string {
  if (typeof value === 'string') return BARE.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  // Objects and arrays (results, err) as JSON: one line, and what a reader would paste into jq anyway.
  return JSON.stringify(value) ?? String(value);
}

/**
 * One JSON log line -> `2026-12-05T16:34:03.123Z info  accepted event=message-accepted queueId=...`.
 * The message comes before the fields (what a human scans for); values a client chose (an account
 * name, a reply text) are quoted and escaped whenever they hold a space, quote or `=`, so a line
 * cannot be made to look like another field or another line.
 */
export function formatTextLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd(); // not ours: passed through as it is
  }
  const parts = [
    String(entry.time ?? ''),
    String(entry.level ?? '').padEnd(5),
    // The message is the server's own words: bare, with control characters escaped (one line stays one line).
    typeof entry.msg === 'string' ? JSON.stringify(entry.msg).slice(1, -1) : '-',
  ];
  for (const [key, value] of Object.entries(entry)) {
    if (SKIPPED.has(key) || value === undefined) continue;
    parts.push(`${key}=${formatValue(value)}`);
  }
  return parts.join(' ');
}

/** Wraps `out` so each line pino writes reaches it as text (pino writes exactly one line per call). */
export function textDestination(out: DestinationStream): DestinationStream {
  return {
    write(chunk: string): void {
      out.write(`${formatTextLine(chunk)}\n`);
    },
  };
}
