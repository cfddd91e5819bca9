// The messages every IMAP bench mailbox holds (the same bytes on every server) and the facts checks rely on.

/** Mailbox `i`'s sender: SMTP delivery puts it in Return-Path, so both servers store that line too. */
export const ENVELOPE_SENDER = 'sender@remote.example';
/** Messages are dated one second apart from here (INTERNALDATE on both servers). */
export const FIRST_DATE_MS = Date.UTC(2026, 10, 23);
/** Senders cycle through this many addresses: SEARCH FROM senderK@ has a known hit count. */
export const SENDERS = 97;
/** Every 7th message's Subject says "invoice": SEARCH SUBJECT invoice has a known hit count. */
export const INVOICE_EVERY = 7;

/** The message as delivered (what a client would APPEND or an MTA would hand over). */
export function messageBody(i: number): Buffer {
  return Buffer.from(
    `From: sender${i % SENDERS}@remote.example\r\nTo: user@example.test\r\n` +
      `Subject: message ${i} ${i % INVOICE_EVERY === 0 ? 'invoice' : 'hello'}\r\n` +
      `Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${i}@remote.example>\r\n\r\n` +
      `body of message ${i}\r\n${'x'.repeat(200)}\r\n`,
  );
}

/**
 * The message as stored, byte for byte: Mailroom's local delivery prepends Return-Path (RFC 5321 4.4),
 * so the Maildir files for Dovecot get the same line and BODY[] is identical on both servers.
 */
export function storedMessage(i: number): Buffer {
  return Buffer.concat([Buffer.from(`Return-Path: <${ENVELOPE_SENDER}>\r\n`), messageBody(i)]);
}

export function internalDate(i: number): Date {
  return new Date(FIRST_DATE_MS + i * 1000);
}

/** Hits of SEARCH SUBJECT invoice in a mailbox of messages 0..count-1. */
export function invoiceHits(count: number): number {
  return Math.ceil(count / INVOICE_EVERY);
}

/** Hits of SEARCH FROM sender{k}@ in a mailbox of messages 0..count-1. */
export function fromHits(count: number, k: number): number {
  return k >= count ? 0 : Math.floor((count - 1 - k) / SENDERS) + 1;
}

/** A ~4 KiB message a client APPENDs (to Sent): headers like a real MUA's, a text body. */
export function appendMessage(n: number): Buffer {
  const head =
    `From: client@example.test\r\nTo: someone@remote.example\r\nSubject: sent ${n}\r\n` +
    `Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <sent-${n}@example.test>\r\n` +
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n';
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again.\r\n';
  const lines = Math.ceil((4096 - head.length) / line.length);
  return Buffer.from(head + line.repeat(lines));
}
