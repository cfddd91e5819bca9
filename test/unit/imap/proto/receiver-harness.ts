// Test harness: feeds bytes to the IMAP receiver at given split points and summarises its events as strings.
import { ImapCommandReceiver, DEFAULT_RECEIVER_LIMITS } from '../../../../src/imap/proto/literal-receiver.js';
import type {
  LiteralAdmission,
  ReceiverEvent,
  ReceiverLimits,
} from '../../../../src/imap/proto/literal-receiver.js';

/** A printable summary of events, with literal chunks joined, so split points do not matter. */
export function run(
  input: Buffer,
  splits: number[],
  limits: ReceiverLimits = DEFAULT_RECEIVER_LIMITS,
  admit: LiteralAdmission | null = null,
): string[] {
  const r = new ImapCommandReceiver(limits);
  r.setAdmission(admit);
  const out: string[] = [];
  let streamed: Buffer[] = [];
  const drain = (): void => {
    for (let ev: ReceiverEvent | null; (ev = r.next());) {
      switch (ev.kind) {
        case 'command':
          out.push(
            `command ${ev.tag} ${JSON.stringify(ev.command.segments.map((s) => s.toString('latin1')))} ` +
              JSON.stringify(
                ev.command.literals.map((l) =>
                  l.streamed ? `<streamed ${l.size}>` : l.bytes.toString('latin1'),
                ),
              ),
          );
          break;
        case 'literal-chunk':
          streamed.push(Buffer.from(ev.bytes));
          break;
        case 'literal-end':
          out.push(`streamed ${JSON.stringify(Buffer.concat(streamed).toString('latin1'))}`);
          streamed = [];
          break;
        case 'continue':
          out.push(`continue ${ev.tag} ${ev.size}`);
          break;
        case 'literal-start':
          out.push(`literal-start ${ev.tag} ${ev.size}${ev.binary ? ' binary' : ''}`);
          break;
        case 'line':
          out.push(`line ${ev.line.toString('latin1')}`);
          break;
        case 'reject':
          out.push(`reject ${ev.tag} ${ev.status}${ev.code ? ` [${ev.code}]` : ''} ${ev.text}`);
          break;
        case 'overflow':
          out.push(`overflow ${ev.text}`);
          break;
      }
    }
  };
  let at = 0;
  for (const cut of [...splits, input.length]) {
    if (cut > at) r.push(input.subarray(at, cut));
    at = Math.max(at, cut);
    drain();
  }
  return out;
}
