// Online backup and restore of a data_dir: one consistent SQLite snapshot plus exactly the blob files it references.
import Database from 'better-sqlite3';
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { MailroomError } from '../../errors.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../data-dir.js';
import { SCHEMA_VERSION } from './schema.js';
import { usageMismatches } from './quota.js';

/*
 * Why a snapshot plus a re-check, not a copy of the folder: mailroom.db changes with every commit and
 * its WAL is only consistent with the main file at a checkpoint, so copying files while mail arrives
 * gives a torn database. `VACUUM INTO` writes the database as one read transaction saw it (SQLite's
 * consistent online copy; it needs no write lock, so deliveries go on). Blob files are immutable once
 * named, but one the snapshot references may be deleted (message expunged) before it is copied; then
 * the snapshot is taken again, which no longer references it. Each round copies only new files.
 */

/** The manifest written last: a backup folder without it is unfinished and restore refuses it. */
export const MANIFEST = 'mailroom-backup.json';
/** Snapshot rounds before giving up (each one only loses to a message deleted within the round). */
export const BACKUP_ATTEMPTS = 5;

export interface BackupManifest {
  format: 1;
  created_at: string;
  schema_version: number;
  messages: number;
  queue_entries: number;
  blob_files: number;
  bytes: number;
}

export interface BackupResult extends BackupManifest {
  attempts: number;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function isEmptyOrAbsent(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** Copies one file (a reflink where the file system can), private, fsynced. */
function copyPrivate(from: string, to: string): number {
  copyFileSync(from, to, constants.COPYFILE_FICLONE);
  chmodSync(to, PRIVATE_FILE_MODE);
  const fd = openSync(to, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return statSync(to).size;
}

/** Files beside mailroom.db worth keeping (the self-signed TLS pair); not the WAL, shm or spool. */
function extraFiles(dataDir: string): string[] {
  return readdirSync(dataDir, { withFileTypes: true })
    .filter((e) => e.isFile() && !/^mailroom\.db(-wal|-shm|-journal)?$/.test(e.name) && e.name !== MANIFEST)
    .map((e) => e.name);
}

function counts(db: Database.Database): { messages: number; queue: number; files: string[] } {
  const count = (sql: string) => (db.prepare(sql).pluck().get() as number | undefined) ?? 0;
  return {
    messages: count('SELECT count(*) FROM messages'),
    queue: count('SELECT count(*) FROM queue'),
    files: db.prepare('SELECT file FROM blobs WHERE file IS NOT NULL').pluck().all() as string[],
  };
}

/** Takes a consistent copy of `dataDir` into `targetDir` (absent or empty) while the server runs. */
export function backupDataDir(
  dataDir: string,
  targetDir: string,
  now: () => Date = () => new Date(),
  /** Only for tests: runs after each snapshot, before its blob files are copied (where a delete can race). */
  afterSnapshot?: (attempt: number) => void,
): BackupResult {
  const dbPath = join(dataDir, 'mailroom.db');
  if (!existsSync(dbPath)) throw new MailroomError('NOT_FOUND', `backup: no mailroom.db in ${dataDir}`);
  if (!isEmptyOrAbsent(targetDir)) throw new MailroomError('EXISTS', `backup: ${targetDir} is not empty`);
  makePrivateDir(join(targetDir, 'blobs'));
  const snapshot = join(targetDir, 'mailroom.db.partial');
  const copied = new Set<string>();
  let bytes = 0;
  for (let attempt = 1; attempt <= BACKUP_ATTEMPTS; attempt++) {
    rmSync(snapshot, { force: true });
    const source = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      source.pragma('busy_timeout = 10000');
      source.prepare('VACUUM INTO ?').run(snapshot);
    } finally {
      source.close();
    }
    const copy = new Database(snapshot, { readonly: true });
    let found: ReturnType<typeof counts>;
    try {
      found = counts(copy);
    } finally {
      copy.close();
    }
    afterSnapshot?.(attempt);
    let missing = 0;
    for (const file of found.files) {
      if (copied.has(file)) continue;
      try {
        bytes += copyPrivate(join(dataDir, 'blobs', file), join(targetDir, 'blobs', file));
        copied.add(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        missing++; // deleted since the snapshot: take a newer one
      }
    }
    if (missing > 0) continue;
    // Files the final snapshot does not reference (copied in an earlier round) are not part of it.
    const wanted = new Set(found.files);
    for (const file of copied) if (!wanted.has(file)) rmSync(join(targetDir, 'blobs', file), { force: true });
    for (const name of extraFiles(dataDir)) bytes += copyPrivate(join(dataDir, name), join(targetDir, name));
    bytes += statSync(snapshot).size;
    fsyncPath(snapshot);
    renameSync(snapshot, join(targetDir, 'mailroom.db'));
    fsyncPath(join(targetDir, 'blobs'));
    const manifest: BackupManifest = {
      format: 1,
      created_at: now().toISOString(),
      schema_version: readSchemaVersion(join(targetDir, 'mailroom.db')),
      messages: found.messages,
      queue_entries: found.queue,
      blob_files: wanted.size,
      bytes,
    };
    writeFileSync(join(targetDir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, {
      mode: PRIVATE_FILE_MODE,
    });
    fsyncPath(join(targetDir, MANIFEST));
    fsyncPath(targetDir);
    return { ...manifest, attempts: attempt };
  }
  throw new MailroomError(
    'BACKUP',
    `backup: messages kept being deleted during ${BACKUP_ATTEMPTS} snapshots; try again (or when quieter)`,
  );
}

function readSchemaVersion(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

export interface CheckResult {
  ok: boolean;
  problems: string[];
  messages: number;
  queueEntries: number;
  blobFiles: number;
}

/** SQLite's own integrity check plus: every blob file a row names exists with the size the row expects. */
export function checkDataDir(dataDir: string): CheckResult {
  const db = new Database(join(dataDir, 'mailroom.db'), { readonly: true, fileMustExist: true });
  try {
    const problems = (db.pragma('integrity_check') as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .filter((r) => r !== 'ok');
    const rows = db
      .prepare('SELECT file, size, length(head) AS head FROM blobs WHERE file IS NOT NULL')
      .all() as { file: string; size: number; head: number }[];
    for (const row of rows) {
      const path = join(dataDir, 'blobs', row.file);
      if (!existsSync(path)) problems.push(`blob file ${row.file} is missing`);
      // size counts the head kept in the row plus the file's bytes (deliver.ts).
      else if (statSync(path).size + row.head !== row.size)
        problems.push(
          `blob file ${row.file} has ${statSync(path).size} bytes, expected ${row.size - row.head}`,
        );
    }
    // Quota usage (schema.ts 23) is kept by triggers; a recount that disagrees means they were bypassed.
    // An older backup being restored has no usage yet (the upgrade computes it): nothing to compare.
    const hasUsage =
      db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'account_usage'").get() !== undefined;
    for (const m of hasUsage ? usageMismatches(db) : []) {
      problems.push(
        `account ${m.accountId} usage is ${m.stored.bytes} octets / ${m.stored.messages} messages, ` +
          `a recount gives ${m.counted.bytes} / ${m.counted.messages}`,
      );
    }
    const { messages, queue } = counts(db);
    return { ok: problems.length === 0, problems, messages, queueEntries: queue, blobFiles: rows.length };
  } finally {
    db.close();
  }
}

/** Fills an empty (or absent) data_dir from a finished backup, then checks it. */
export function restoreDataDir(
  backupDir: string,
  dataDir: string,
): CheckResult & { manifest: BackupManifest } {
  const manifestPath = join(backupDir, MANIFEST);
  if (!existsSync(manifestPath))
    throw new MailroomError('NOT_FOUND', `restore: ${backupDir} has no ${MANIFEST} (not a finished backup)`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BackupManifest;
  if (manifest.format !== 1)
    throw new MailroomError('FORMAT', `restore: unknown backup format ${manifest.format}`);
  if (manifest.schema_version > SCHEMA_VERSION)
    throw new MailroomError(
      'FORMAT',
      `restore: the backup has schema ${manifest.schema_version}, newer than this Mailroom (${SCHEMA_VERSION}); upgrade first`,
    );
  if (!isEmptyOrAbsent(dataDir))
    throw new MailroomError(
      'EXISTS',
      `restore: data_dir ${dataDir} is not empty (restore fills an empty one)`,
    );
  makePrivateDir(join(dataDir, 'blobs'));
  copyPrivate(join(backupDir, 'mailroom.db'), join(dataDir, 'mailroom.db'));
  for (const file of readdirSync(join(backupDir, 'blobs')))
    copyPrivate(join(backupDir, 'blobs', file), join(dataDir, 'blobs', file));
  for (const name of extraFiles(backupDir)) copyPrivate(join(backupDir, name), join(dataDir, name));
  fsyncPath(join(dataDir, 'blobs'));
  fsyncPath(dataDir);
  const check = checkDataDir(dataDir);
  return { ...check, manifest };
}

/** Before a schema upgrade: a backup in data_dir/backups/schema-<from>-to-<to>-<time>; returns its path. */
export function backupBeforeUpgrade(dataDir: string, fromVersion: number, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const target = join(
    dataDir,
    'backups',
    `schema-${fromVersion}-to-${SCHEMA_VERSION}-${stamp}-${process.pid}`,
  );
  makePrivateDir(join(dataDir, 'backups'));
  backupDataDir(dataDir, target, () => now);
  return target;
}
