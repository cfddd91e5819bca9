// The SQLite schema as numbered migrations, applied once each and tracked in PRAGMA user_version.
import type Database from 'better-sqlite3';
import { MailroomError } from '../../errors.js';

/*
 * Conventions, so a PostgreSQL backend can mirror this with its own DDL and the same DML:
 * times are INTEGER milliseconds since the epoch (bigint there), flags are one space-separated
 * TEXT, booleans are INTEGER 0/1, JSON is TEXT. AUTOINCREMENT (identity columns there) because
 * ids are never reused: an event or a cached id of a deleted account must not hit a new one.
 *
 * A migration is appended, never edited: a database at user_version N has run exactly 1..N.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the foundation data model (DESIGN.md "Data model").
  `
  CREATE TABLE domains (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL UNIQUE,
    domain TEXT NOT NULL REFERENCES domains(name),
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX accounts_domain ON accounts(domain);
  CREATE TABLE aliases (
    source TEXT NOT NULL,          -- 'local@domain' or '@domain' (catch-all)
    domain TEXT NOT NULL,
    target TEXT NOT NULL,
    position INTEGER NOT NULL,     -- keeps the targets in the order the admin gave them
    PRIMARY KEY (source, target)
  );
  CREATE INDEX aliases_domain ON aliases(domain);
  -- Monotonic counters shared by all processes (e.g. the last UIDVALIDITY handed out).
  CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  );
  CREATE TABLE mailboxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,
    special_use TEXT,
    subscribed INTEGER NOT NULL DEFAULT 1,
    uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL DEFAULT 1,
    highest_modseq INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, name)
  );
  -- One stored body. head (Return-Path + trace headers) is always here; the rest is either inline
  -- (body) or a file under blobs/ (file). See sqlite/deliver.ts for why.
  CREATE TABLE blobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    size INTEGER NOT NULL,
    head BLOB NOT NULL,
    body BLOB,
    file TEXT UNIQUE,
    CHECK ((body IS NULL) <> (file IS NULL))
  );
  CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_id INTEGER NOT NULL REFERENCES blobs(id),
    size INTEGER NOT NULL,
    internal_date INTEGER NOT NULL,
    queue_id TEXT NOT NULL,        -- the id in the Received header: follows a message end to end
    sender TEXT NOT NULL,
    envelope_json TEXT,            -- IMAP ENVELOPE, filled when header parsing lands
    bodystructure_json TEXT
  );
  CREATE INDEX messages_blob ON messages(blob_id);
  CREATE TABLE mailbox_messages (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages(id),
    flags TEXT NOT NULL DEFAULT '',
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
  );
  CREATE INDEX mailbox_messages_message ON mailbox_messages(message_id);
  -- Expunged UIDs with the MODSEQ of their removal, for QRESYNC VANISHED (RFC 7162 3.2.10).
  CREATE TABLE mailbox_expunged (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
  );
  CREATE TABLE queue (
    id TEXT PRIMARY KEY,
    blob_id INTEGER NOT NULL REFERENCES blobs(id),
    blob_offset INTEGER NOT NULL,  -- the queue copy skips the local Return-Path line
    size INTEGER NOT NULL,
    sender TEXT NOT NULL,
    dsn_envid TEXT,
    dsn_ret TEXT,
    smtputf8 INTEGER NOT NULL DEFAULT 0,
    body_type TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX queue_blob ON queue(blob_id);
  CREATE TABLE queue_recipients (
    queue_id TEXT NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    orcpt TEXT,
    notify TEXT,                   -- comma-separated NOTIFY values (RFC 3461 4.1)
    state TEXT NOT NULL CHECK (state IN ('pending', 'deferred', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error TEXT,
    PRIMARY KEY (queue_id, address)
  );
  CREATE INDEX queue_recipients_due ON queue_recipients(state, next_attempt_at);
  `,
  // 2: the outgoing queue at work (issue 3): a DSN owed for a recipient (JSON of what it reports,
  // NULL when none is owed) survives a crash between recording the result and sending the DSN.
  `
  ALTER TABLE queue_recipients ADD COLUMN dsn_json TEXT;
  ALTER TABLE queue_recipients ADD COLUMN last_attempt_at INTEGER;
  CREATE INDEX queue_recipients_dsn ON queue_recipients(queue_id) WHERE dsn_json IS NOT NULL;
  `,
  // 3: IMAP (issue 4): CONDSTORE/QRESYNC ask "what changed since MODSEQ n" (RFC 7162 3.1.4, 3.2.5);
  // without these indexes that is a scan of the whole mailbox on every resync.
  `
  CREATE INDEX mailbox_messages_modseq ON mailbox_messages(mailbox_id, modseq);
  CREATE INDEX mailbox_expunged_modseq ON mailbox_expunged(mailbox_id, modseq);
  CREATE INDEX mailboxes_parent ON mailboxes(parent_id);
  `,
  // 4: queue scale (issue 3): the scheduler reads "waiting rows due by now, earliest first, LIMIT n".
  // On (state, next_attempt_at) that is two range scans merged by a sort of EVERY due row (180 ms per
  // wake with 100,000 messages due); this partial index (only waiting rows) is read in order and stops
  // at the limit (11 ms), and keeps MIN(next_attempt_at) one index probe. It replaces the old one.
  `
  DROP INDEX queue_recipients_due;
  CREATE INDEX queue_recipients_waiting ON queue_recipients(next_attempt_at, queue_id)
    WHERE state IN ('pending', 'deferred');
  `,
  // 5: IMAP SEARCH speed (issue 4): each message's header fields, decoded once, so SEARCH SUBJECT/FROM/
  // HEADER reads one short string per message instead of the whole message (format: mail-store.ts
  // HeaderIndex; written at delivery and APPEND since then, and for older messages lazily at their
  // first search by sqlite/mail-headers.ts). A table of its own,
  // not a column of messages: there it sat behind bodystructure_json, whose overflow pages a scan
  // had to walk to reach it (it measured slower than reading the structure JSON itself).
  `
  CREATE TABLE message_headers (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    fields TEXT NOT NULL
  );
  `,
  // 6: delay warnings (issue 3, RFC 3464 Action: delayed): when a recipient's one delay DSN was owed,
  // NULL until then. Kept on the row so a restart never warns the sender a second time.
  `
  ALTER TABLE queue_recipients ADD COLUMN delay_warned_at INTEGER;
  `,
  // 7: IMAP INTERNALDATE keeps its zone (issue 4): minutes east of UTC that APPEND's date-time was
  // written in, so FETCH shows it back (RFC 9051 2.3.3) and SEARCH BEFORE/ON/SINCE compare the date in
  // it (6.4.4). Rows from before (and SMTP deliveries, sqlite/deliver.ts) are +0000, as FETCH showed them.
  `
  ALTER TABLE messages ADD COLUMN internal_date_offset INTEGER NOT NULL DEFAULT 0;
  `,
  // 8: \Recent for IMAP4rev1 sessions (RFC 3501 2.3.2; issue 4): the first UID no session has been told
  // about yet (sqlite/mail-recent.ts). Mail already here when this runs counts as seen by someone, not
  // as recent in whichever session selects it first; a mailbox created later starts at 1 (all recent).
  `
  ALTER TABLE mailboxes ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1;
  UPDATE mailboxes SET first_recent_uid = uidnext;
  `,
  // 9: subscriptions are names, not a property of a mailbox (RFC 9051 6.3.7: the server "MUST NOT
  // unilaterally remove an existing mailbox name from the subscription list even if a mailbox by that
  // name no longer exists"; RFC 5258 3.1 lists such names as \NonExistent \Subscribed). So DELETE
  // keeps them and a name can be subscribed before it exists. Filled from the old column, which stays
  // (unused since; dropping it needs SQLite 3.35 and buys nothing). Names are stored as the mailbox
  // table stores them ('INBOX' upper-cased, the rest as given: sqlite/names.ts).
  `
  CREATE TABLE subscriptions (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
  );
  INSERT INTO subscriptions (account_id, name) SELECT account_id, name FROM mailboxes WHERE subscribed = 1;
  `,
  // 10: JMAP uploads (issue 9, RFC 8620 6.1): a blob an account uploaded, with the type it declared.
  // The bytes are a blobs row like a message's; the owner is here so one account's blob id never
  // reads another's. Several uploads may share one blobs row (Blob/copy); collectGarbage keeps a
  // blobs row while an upload references it.
  `
  CREATE TABLE uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    blob_id INTEGER NOT NULL REFERENCES blobs(id),
    type TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX uploads_account ON uploads(account_id);
  CREATE INDEX uploads_blob ON uploads(blob_id);
  CREATE INDEX uploads_created ON uploads(created_at);
  `,
  // 11: JMAP (issue 9; store/jmap-store.ts): per-account Emails (id = JMAP Email id = IMAP EMAILID), threads
  // and the Message IDs that find them (sqlite/threads.ts), the change log and states (sqlite/changes.ts).
  // mailbox_messages.received_at (the message's internal date, copied onto the row) with its index makes
  // "a mailbox's Emails by receivedAt, newest first" an index walk that stops at the page. Emails and
  // threads of existing mail are made by backfillEmails (below) after this, from the header index: this
  // leaves the 'emails_backfill' counter that asks for it.
  `
  ALTER TABLE mailbox_messages ADD COLUMN received_at INTEGER NOT NULL DEFAULT 0;
  UPDATE mailbox_messages SET received_at = (SELECT internal_date FROM messages m WHERE m.id = mailbox_messages.message_id);
  CREATE INDEX mailbox_messages_received ON mailbox_messages(mailbox_id, received_at, message_id);
  CREATE TABLE threads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,         -- collation-form base subject of its first message (mail/thread-keys.ts)
    last_at INTEGER NOT NULL       -- newest receivedAt: replies join by subject only within a window
  );
  CREATE INDEX threads_account ON threads(account_id, subject, last_at);
  CREATE TABLE emails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages(id),
    thread_id INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (account_id, message_id)
  );
  CREATE INDEX emails_thread ON emails(thread_id, received_at);
  CREATE INDEX emails_message ON emails(message_id);
  CREATE TABLE thread_refs (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    msgid TEXT NOT NULL,
    thread_id INTEGER NOT NULL,
    PRIMARY KEY (account_id, msgid)
  ) WITHOUT ROWID;
  CREATE INDEX thread_refs_thread ON thread_refs(thread_id);
  CREATE TABLE jmap_accounts (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    modseq INTEGER NOT NULL,       -- the change counter: the last change's modseq
    lowest INTEGER NOT NULL        -- states below this were pruned (cannotCalculateChanges)
  );
  CREATE TABLE jmap_type_states (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    type INTEGER NOT NULL,         -- index in jmap-store.ts JMAP_TYPES
    modseq INTEGER NOT NULL,
    PRIMARY KEY (account_id, type)
  ) WITHOUT ROWID;
  CREATE TABLE jmap_changes (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    modseq INTEGER NOT NULL,
    type INTEGER NOT NULL,
    object_id INTEGER NOT NULL,
    kind INTEGER NOT NULL,         -- changes.ts ChangeKind
    PRIMARY KEY (account_id, modseq)
  ) WITHOUT ROWID;
  INSERT INTO counters (name, value) VALUES ('emails_backfill', 1)
    ON CONFLICT (name) DO UPDATE SET value = 1;
  `,
  // 12: JMAP Mailbox sortOrder (issue 9, RFC 8621 2: a mutable UnsignedInt the client sets). NULL: the
  // server's order by role (src/jmap/mail/mailbox.ts sortOrderOf), which is what every existing mailbox keeps.
  `
  ALTER TABLE mailboxes ADD COLUMN sort_order INTEGER;
  `,
  // 13: JMAP sending (issue 9; store/sending-store.ts): Identities (RFC 8621 6), EmailSubmissions (RFC 8621 7)
  // with one row per envelope recipient whose status the queue updates (sqlite/queue-store.ts), and the
  // VacationResponse (RFC 8621 8) with the senders already answered (RFC 3834 2: once per period).
  // `auto` identities are the account's own address and its aliases, made and removed by the store as the
  // directory changes; the others were created by Identity/set.
  `
  CREATE TABLE jmap_identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    reply_to_json TEXT,
    bcc_json TEXT,
    text_signature TEXT NOT NULL DEFAULT '',
    html_signature TEXT NOT NULL DEFAULT '',
    auto INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX jmap_identities_account ON jmap_identities(account_id);
  CREATE TABLE jmap_submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    identity_id TEXT NOT NULL,
    email_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    envelope_json TEXT NOT NULL,
    send_at INTEGER NOT NULL,
    queue_id TEXT NOT NULL
  );
  CREATE INDEX jmap_submissions_account ON jmap_submissions(account_id, send_at);
  CREATE TABLE jmap_submission_recipients (
    submission_id INTEGER NOT NULL REFERENCES jmap_submissions(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL,
    queue_id TEXT NOT NULL,
    address TEXT NOT NULL,
    delivered TEXT NOT NULL,       -- RFC 8621 7 DeliveryStatus.delivered: queued, yes, no, unknown
    smtp_reply TEXT NOT NULL,
    PRIMARY KEY (submission_id, address)
  );
  CREATE INDEX jmap_submission_recipients_queue ON jmap_submission_recipients(queue_id, address);
  CREATE TABLE jmap_vacation (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    is_enabled INTEGER NOT NULL,
    from_date INTEGER,
    to_date INTEGER,
    subject TEXT,
    text_body TEXT,
    html_body TEXT
  );
  CREATE TABLE vacation_replies (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, sender)
  ) WITHOUT ROWID;
  `,
  // 14 (issue 10): the SRS key and greylisting.
  `
  -- Keys the server makes for itself on first use (name 'srs': the SRS HMAC key); never logged.
  CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    created_at INTEGER NOT NULL
  );
  -- Greylisting (abuse/greylist.ts): 'T <net> <sender> <rcpt>' triplets and 'N <net>' client networks.
  CREATE TABLE greylist (
    key TEXT PRIMARY KEY,
    first_seen INTEGER NOT NULL,
    passed_at INTEGER,             -- a retry came after the delay; NULL: not yet
    last_seen INTEGER NOT NULL,
    passes INTEGER NOT NULL        -- successful retries (client networks: auto-pass)
  );
  CREATE INDEX greylist_last_seen ON greylist(last_seen);
  `,
  // 15: DKIM signing keys (issue 10; store/dkim-store.ts). One row per (domain, selector); the private key is
  // PKCS#8 PEM and stays in this file (data_dir is 0700, data-dir.ts). activated_at: when `dkim activate`
  // chose it; inactive: made with `generate --inactive`. Keys go with their domain.
  `
  CREATE TABLE dkim_keys (
    domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,
    selector TEXT NOT NULL,
    algorithm TEXT NOT NULL,       -- 'rsa' | 'ed25519'
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,      -- the DNS record's p= value
    created_at INTEGER NOT NULL,
    activated_at INTEGER,
    inactive INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (domain, selector)
  );
  `,
  // 16: API tokens (issue 9): Bearer credentials for JMAP clients (RFC 6750) made by `mailroom token create`.
  // Only a SHA-256 of the token is kept (it is 256 random bits, so no slow hash is needed: nothing to guess
  // from); a token ends with its account (ON DELETE CASCADE) or when revoked (its row is deleted).
  `
  CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX api_tokens_account ON api_tokens(account_id);
  `,
  // 17 (issue 10, outbound TLS policy):
  // - the MTA-STS policy cache (RFC 8461 5.1: a policy is used until max_age after its fetch, and
  //   refetched when the TXT id changes), so a restart neither refetches nor forgets an enforce policy;
  // - TLS-RPT result counts per UTC day, policy and MX host (RFC 8460 4.4), mailed once the day is over;
  // - REQUIRETLS (RFC 8689 4) is a property of the queued message: honoured on every relay attempt.
  `
  CREATE TABLE mta_sts_policies (
    domain TEXT PRIMARY KEY,
    policy_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    mx_json TEXT NOT NULL,
    max_age INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE tls_rpt_results (
    day TEXT NOT NULL,
    policy_domain TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    policy_json TEXT NOT NULL,
    mx_host TEXT NOT NULL,
    result TEXT NOT NULL,
    receiving_ip TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, policy_domain, policy_type, policy_json, mx_host, result, receiving_ip, reason)
  ) WITHOUT ROWID;
  ALTER TABLE queue ADD COLUMN require_tls INTEGER NOT NULL DEFAULT 0;
  `,
  // 18: issue 9's bookkeeping made cheaper for every delivery (sqlite/changes.ts says why): each type's JMAP
  // state becomes a column of jmap_accounts (one row written per commit, not one per type), and a change log
  // row holds a run of `count` consecutive object ids (row modseq = the run's last). Existing rows are runs of 1.
  // threads_account leaves out threads without a subject: only a "Re:" with a non-empty subject is ever looked
  // up by it (thread-keys.ts replySubject), and mail without Subject (load generators, notifications) is common.
  // messages.preview: RFC 8621 4.1.4 Email preview, computed from the message once (at its first Email/get)
  // and kept, so a message list read after a restart parses no message; NULL until then.
  `
  ALTER TABLE jmap_accounts ADD COLUMN email_state INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jmap_accounts ADD COLUMN mailbox_state INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jmap_accounts ADD COLUMN thread_state INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jmap_accounts ADD COLUMN identity_state INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jmap_accounts ADD COLUMN submission_state INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jmap_accounts ADD COLUMN vacation_state INTEGER NOT NULL DEFAULT 0;
  UPDATE jmap_accounts SET
    email_state = coalesce((SELECT modseq FROM jmap_type_states t WHERE t.account_id = jmap_accounts.account_id AND t.type = 0), 0),
    mailbox_state = coalesce((SELECT modseq FROM jmap_type_states t WHERE t.account_id = jmap_accounts.account_id AND t.type = 1), 0),
    thread_state = coalesce((SELECT modseq FROM jmap_type_states t WHERE t.account_id = jmap_accounts.account_id AND t.type = 2), 0),
    identity_state = coalesce((SELECT modseq FROM jmap_type_states t WHERE t.account_id = jmap_accounts.account_id AND t.type = 3), 0),
    submission_state = coalesce((SELECT modseq FROM jmap_type_states t WHERE t.account_id = jmap_accounts.account_id AND t.type = 4), 0),
    vacation_state = coalesce((SELECT modseq FROM jmap_type_states t WHERE t.account_id = jmap_accounts.account_id AND t.type = 5), 0);
  DROP TABLE jmap_type_states;
  ALTER TABLE jmap_changes ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE messages ADD COLUMN preview TEXT;
  DROP INDEX threads_account;
  CREATE INDEX threads_account ON threads(account_id, subject, last_at) WHERE subject <> '';
  `,
  // 19 (issue 11): account states and the last sign-in. 'disabled': cannot sign in on any protocol, still
  // receives mail; 'removed': `user remove --keep-mail`, cannot sign in nor receive, its mailboxes kept for
  // an export. last_login_at is written at most once a minute per account (auth/login-recorder.ts).
  `
  ALTER TABLE accounts ADD COLUMN state TEXT NOT NULL DEFAULT 'active'
    CHECK (state IN ('active', 'disabled', 'removed'));
  ALTER TABLE accounts ADD COLUMN last_login_at INTEGER;
  `,
  // 20 (issue 11): `mailroom trace` and the admin-action record (sqlite/trace-store.ts), kept for [retention].
  // message_events: a message's steps by queue id (received, attempt, dsn, admin), detail as JSON; only
  // `received` rows carry the Message-ID, so its index stays small. No index on `at`: rows arrive in time
  // order and the purge walks ids. admin_actions: what admin commands changed, for the server's log.
  `
  CREATE TABLE message_events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    queue_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    message_id TEXT,
    detail TEXT NOT NULL
  );
  CREATE INDEX message_events_queue ON message_events(queue_id);
  CREATE INDEX message_events_message ON message_events(message_id) WHERE message_id IS NOT NULL;
  CREATE TABLE admin_actions (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
  );
  `,
  // 21 (issue 12): SAVEDATE (RFC 8514): when each message was saved to its mailbox (delivery, APPEND, COPY,
  // MOVE, JMAP adding a mailbox), epoch ms. Rows from before this migration take their internal date (the
  // column received_at copies it): for delivered mail that is the delivery time, which is when it was saved;
  // for APPENDed or copied mail it is the best date known. So FETCH SAVEDATE is never NIL here, and
  // SAVEDATESUPPORTED (RFC 8514 4) is true of every mailbox.
  `
  ALTER TABLE mailbox_messages ADD COLUMN saved_at INTEGER;
  UPDATE mailbox_messages SET saved_at = received_at;
  `,
  // 22 (issue 12): URLAUTH access keys (RFC 4467 7, the INTERNAL mechanism), one per mailbox, made on first
  // GENURLAUTH and deleted by RESETKEY. Keyed by mailbox id, not name: a URL to a deleted (or renamed and
  // re-created) mailbox must not become valid for the new one, and deleting the mailbox drops its key.
  `
  CREATE TABLE urlauth_keys (
    mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
    key BLOB NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
  // 23 (issue 12): storage quotas (RFC 9208 STORAGE and MESSAGE). quota_bytes / quota_messages: NULL = none.
  // account_usage holds each account's usage, kept by triggers in the same transaction as every change to
  // mailbox_messages (delivery, APPEND, COPY, MOVE, expunge, JMAP), so it is exact after a crash without a
  // recount. A message in two mailboxes counts twice (RFC 9208 5.1 counts per mailbox). A mailbox deleted
  // with its rows (ON DELETE CASCADE) is subtracted by its BEFORE DELETE trigger: when the cascade deletes
  // the rows the mailbox row is already gone, so the row trigger finds no account and adds nothing.
  `
  ALTER TABLE accounts ADD COLUMN quota_bytes INTEGER;
  ALTER TABLE accounts ADD COLUMN quota_messages INTEGER;
  CREATE TABLE account_usage (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    bytes INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0
  );
  INSERT INTO account_usage (account_id, bytes, messages)
    SELECT a.id,
      (SELECT COALESCE(SUM(m.size), 0) FROM mailboxes mb JOIN mailbox_messages mm ON mm.mailbox_id = mb.id
         JOIN messages m ON m.id = mm.message_id WHERE mb.account_id = a.id),
      (SELECT COUNT(*) FROM mailboxes mb JOIN mailbox_messages mm ON mm.mailbox_id = mb.id WHERE mb.account_id = a.id)
    FROM accounts a;
  CREATE TRIGGER account_usage_row AFTER INSERT ON accounts BEGIN
    INSERT INTO account_usage (account_id) VALUES (NEW.id);
  END;
  CREATE TRIGGER account_usage_add AFTER INSERT ON mailbox_messages BEGIN
    UPDATE account_usage
      SET bytes = bytes + COALESCE((SELECT size FROM messages WHERE id = NEW.message_id), 0), messages = messages + 1
      WHERE account_id = (SELECT account_id FROM mailboxes WHERE id = NEW.mailbox_id);
  END;
  CREATE TRIGGER account_usage_remove AFTER DELETE ON mailbox_messages BEGIN
    UPDATE account_usage
      SET bytes = bytes - COALESCE((SELECT size FROM messages WHERE id = OLD.message_id), 0), messages = messages - 1
      WHERE account_id = (SELECT account_id FROM mailboxes WHERE id = OLD.mailbox_id);
  END;
  CREATE TRIGGER account_usage_rehome AFTER UPDATE OF mailbox_id, message_id ON mailbox_messages BEGIN
    UPDATE account_usage
      SET bytes = bytes - COALESCE((SELECT size FROM messages WHERE id = OLD.message_id), 0), messages = messages - 1
      WHERE account_id = (SELECT account_id FROM mailboxes WHERE id = OLD.mailbox_id);
    UPDATE account_usage
      SET bytes = bytes + COALESCE((SELECT size FROM messages WHERE id = NEW.message_id), 0), messages = messages + 1
      WHERE account_id = (SELECT account_id FROM mailboxes WHERE id = NEW.mailbox_id);
  END;
  CREATE TRIGGER account_usage_mailbox_gone BEFORE DELETE ON mailboxes BEGIN
    UPDATE account_usage
      SET bytes = bytes - (SELECT COALESCE(SUM(m.size), 0) FROM mailbox_messages mm JOIN messages m ON m.id = mm.message_id
                           WHERE mm.mailbox_id = OLD.id),
          messages = messages - (SELECT COUNT(*) FROM mailbox_messages WHERE mailbox_id = OLD.id)
      WHERE account_id = OLD.account_id;
  END;
  `,
  // 24 (issue 10): DMARC aggregate reports (RFC 7489 7.2):
  // one counted row per UTC day, policy domain, source IP and evaluated facts, mailed once the day is over
  // ([inbound] dmarc_reports) and then deleted.
  `
  CREATE TABLE dmarc_report_rows (
    day TEXT NOT NULL,
    policy_domain TEXT NOT NULL,
    source_ip TEXT NOT NULL,
    header_from TEXT NOT NULL,
    disposition TEXT NOT NULL,
    dkim_aligned TEXT NOT NULL,
    spf_aligned TEXT NOT NULL,
    policy_json TEXT NOT NULL,
    auth_json TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, policy_domain, source_ip, header_from, disposition, dkim_aligned, spf_aligned, policy_json, auth_json)
  ) WITHOUT ROWID;
  `,
  // 25 (issue 12): a local copy queued because its account was over quota keeps the mailbox it was routed
  // to (Junk by the inbound checks, a named mailbox), so the queue's local path delivers it there when
  // retried, not into INBOX (queue/local-transport.ts). NULL both: INBOX.
  `
  ALTER TABLE queue_recipients ADD COLUMN local_mailbox TEXT;
  ALTER TABLE queue_recipients ADD COLUMN local_special_use TEXT;
  `,
];

/** The schema version this code writes; a database newer than this is refused, not misread. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to SCHEMA_VERSION. Each step runs in a BEGIN IMMEDIATE transaction and
 * re-reads user_version inside it, so two processes opening a fresh data_dir at once (server and
 * CLI) apply each migration exactly once.
 */
export function migrate(db: Database.Database): void {
  for (;;) {
    const applied = db
      .transaction((): boolean => {
        const version = db.pragma('user_version', { simple: true }) as number;
        if (version > SCHEMA_VERSION) {
          throw new MailroomError(
            'SCHEMA_TOO_NEW',
            `database schema version ${version} is newer than this Mailroom understands (${SCHEMA_VERSION}); upgrade Mailroom`,
          );
        }
        const sql = MIGRATIONS[version];
        if (sql === undefined) return false;
        db.exec(sql);
        db.pragma(`user_version = ${version + 1}`);
        return true;
      })
      .immediate();
    if (!applied) return;
  }
}
