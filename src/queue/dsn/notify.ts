// Who gets a delivery status notification, per RFC 3461 NOTIFY, and the Status code for each result.

/** RFC 3464 2.3.3 Action values. */
export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

/**
 * Whether a recipient in this state produces a DSN to the sender.
 * - a null reverse-path never gets one (RFC 5321 6.1 / RFC 3461 5.2: never bounce a bounce);
 * - NOTIFY=NEVER: none; explicit NOTIFY: only the listed conditions (RFC 3461 4.1);
 * - no NOTIFY: failures always, delays at our discretion (`delayWarnings`), successes never (RFC 3461 4.1).
 */
export function wantsDsn(
  sender: string,
  notify: readonly string[] | undefined,
  action: DsnAction,
  options: { delayWarnings: boolean } = { delayWarnings: true },
): boolean {
  if (sender === '') return false;
  const list = (notify ?? []).map((n) => n.toUpperCase());
  if (list.includes('NEVER')) return false;
  if (list.length === 0) {
    if (action === 'failed') return true;
    if (action === 'delayed') return options.delayWarnings;
    return false;
  }
  switch (action) {
    case 'failed':
      return list.includes('FAILURE');
    case 'delayed':
      return list.includes('DELAY');
    case 'delivered':
    case 'relayed':
    case 'expanded':
      return list.includes('SUCCESS');
  }
}

/**
 * The Action of a success DSN, if we are the one to send it (RFC 3461 5.2.2, 5.3): after local
 * delivery "delivered"; after handing to a peer without DSN support the request ends with us:
 * "relayed"; a DSN-capable peer got NOTIFY forwarded and reports itself: null, nothing from us.
 */
export function successDsnAction(kind: 'local' | 'peer-with-dsn' | 'peer-without-dsn'): DsnAction | null {
  if (kind === 'local') return 'delivered';
  return kind === 'peer-without-dsn' ? 'relayed' : null;
}

const ENHANCED = /^[245]\.[0-9]{1,3}\.[0-9]{1,3}$/;

/**
 * RFC 3464 2.3.4 Status: the peer's RFC 3463 code when it gave one of the right class, else the
 * class alone from the reply code (x.0.0), else from the action.
 */
export function dsnStatus(action: DsnAction, replyCode?: number, enhanced?: string): string {
  const cls = replyCode !== undefined ? String(replyCode)[0] : undefined;
  if (enhanced && ENHANCED.test(enhanced) && (cls === undefined || enhanced[0] === cls)) return enhanced;
  if (cls === '2' || cls === '4' || cls === '5') return `${cls}.0.0`;
  return action === 'failed' ? '5.0.0' : action === 'delayed' ? '4.0.0' : '2.0.0';
}
