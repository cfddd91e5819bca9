// The message both aggregate reports travel in (DMARC, RFC 7489 7.2.1.1; TLS-RPT, RFC 8460 5.3): a short text and the gzip attached. Pure.

/** What the two reports' messages share: who, which report, and the MIME framing's boundary. */
export interface ReportMessageInput {
  from: string;
  to: string;
  /** Our host name: the report's submitter (RFC 7489 7.2.1.1 Submitter, RFC 8460 5.3 TLS-Report-Submitter). */
  submitter: string;
  policyDomain: string;
  reportId: string;
  day: string;
  /** The gzip of the report (XML for DMARC, JSON for TLS-RPT). */
  gzipped: Buffer;
  date: string;
  messageId: string;
  boundary: string;
}

/** How one report's message differs from the other's. */
export interface ReportFraming {
  /** Header fields after Message-ID (before Auto-Submitted). */
  extraFields: string[];
  /** The top Content-Type's lines, its boundary parameter included. */
  contentType: string[];
  /** Lines before the first boundary (the MIME preamble); none for none. */
  preamble: string[];
  /** The text part's one line. */
  text: string;
  /** The attachment's media type and file name. */
  attachmentType: string;
  filename: string;
}

/**
 * "Report Domain: ... Submitter: ... Report-ID: <...>" (the Subject both RFCs give), Auto-Submitted
 * (RFC 3834), a text part and the gzip as a base64 attachment in 76-character lines, CRLF throughout.
 */
export function buildAggregateReportMessage(m: ReportMessageInput, f: ReportFraming): Buffer {
  const base64 = (m.gzipped.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
  const lines = [
    `From: <${m.from}>`,
    `To: <${m.to}>`,
    `Subject: Report Domain: ${m.policyDomain} Submitter: ${m.submitter} Report-ID: <${m.reportId}>`,
    `Date: ${m.date}`,
    `Message-ID: ${m.messageId}`,
    ...f.extraFields,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    ...f.contentType,
    '',
    ...(f.preamble.length > 0 ? [...f.preamble, ''] : []),
    `--${m.boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    f.text,
    '',
    `--${m.boundary}`,
    `Content-Type: ${f.attachmentType}`,
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment;',
    `\tfilename="${f.filename}"`,
    '',
    base64,
    '',
    `--${m.boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'ascii');
}
