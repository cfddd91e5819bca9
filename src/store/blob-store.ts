// Message bodies stored as files under data_dir/blobs: written in the spool, fsynced, renamed in, directory fsynced.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/*
 * Why file names carry the writer's pid: the admin CLI and the server open the same data_dir at
 * once, and each removes orphans (spool files and blob files no row references) when it opens.
 * A file that is unreferenced may be an orphan left by a crash - or the in-flight work of the
 * other live process, between its rename into blobs/ and its commit. The pid in the name lets the
 * cleaner tell the two apart without any lock or extra commit (see isOrphanCandidate).
 */

/** A new file name owned by this process: `<pid>-<time36>-<random hex>`. */
export function newOwnedFileName(now: number = Date.now(), random: Buffer = randomBytes(8)): string {
  return `${process.pid}-${now.toString(36)}-${random.toString('hex')}`;
}

/** The pid a file name was written by, or null for a name not made by newOwnedFileName. */
export function ownerPid(name: string): number | null {
  const m = /^([1-9][0-9]{0,9})-[0-9a-z]+-[0-9a-f]+(?:\.[a-z]+)?$/.exec(name);
  return m?.[1] !== undefined ? Number(m[1]) : null;
}

/** True when a process with this pid exists (EPERM: exists but is not ours). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How old an unreferenced file of a live process must be before it is treated as an orphan anyway:
 * far beyond any SMTP session (RFC 5321 4.5.3.2 timeouts are minutes), so it only catches pid reuse. */
export const ORPHAN_MIN_AGE_MS = 60 * 60 * 1000;

/** When this process started, in ms: a file of our own pid older than that is from an earlier incarnation. */
const PROCESS_STARTED_AT = Date.now() - process.uptime() * 1000;

/**
 * Decides whether an unreferenced file may be deleted: its writer is dead, or it is ours from
 * before this process started (pid reuse in containers), or it is very old. Names not made by us
 * are left alone (someone put them there on purpose).
 */
export function isOrphanCandidate(name: string, mtimeMs: number, nowMs: number): boolean {
  const pid = ownerPid(name);
  if (pid === null) return false;
  if (nowMs - mtimeMs > ORPHAN_MIN_AGE_MS) return true;
  if (pid === process.pid) return mtimeMs < PROCESS_STARTED_AT - 1000;
  return !isProcessAlive(pid);
}

export class FileBlobStore {
  constructor(
    readonly blobDir: string,
    readonly spoolDir: string,
    private readonly newName: () => string = () => newOwnedFileName(),
  ) {
    // Private like everything under data_dir (0700; data-dir.ts). Their parent exists and was
    // proven writable by prepareDataDir, so the recursive mkdir cannot spin.
    mkdirSync(blobDir, { recursive: true, mode: 0o700 });
    mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  }

  /** Writes the chunks to a new spool file, fsyncs it and renames it into blobs/. Returns the blob file name.
   * The directory entry is durable only after syncDir(). */
  async writeChunks(chunks: readonly Buffer[]): Promise<string> {
    const name = this.newName();
    const tmp = join(this.spoolDir, `${name}.tmp`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      for (const chunk of chunks) {
        // writev would be one call, but a partial write is possible; write() loops until done.
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
          off += bytesWritten;
        }
      }
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await fh.close();
    await rename(tmp, join(this.blobDir, name));
    return name;
  }

  /** Moves a finished, fsynced spool file into blobs/ without copying it (same filesystem). */
  async adopt(spoolPath: string): Promise<string> {
    const name = this.newName();
    await rename(spoolPath, join(this.blobDir, name));
    return name;
  }

  /** Makes renames into blobs/ durable: fsync of the directory (POSIX: the entry lives in the directory). */
  async syncDir(): Promise<void> {
    const fh = await open(this.blobDir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  read(name: string): Promise<Buffer> {
    return readFile(join(this.blobDir, name));
  }

  /** Removes blob files; best effort (a missing file is already gone). */
  async remove(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((n) => unlink(join(this.blobDir, n)).catch(() => undefined)));
  }

  /**
   * Removes orphans at open: spool files of dead writers, and blob files no row references
   * (a crash between the rename into blobs/ and the commit). Synchronous: runs once at start-up.
   * Returns what was removed, for logs and tests.
   */
  removeOrphans(
    isReferenced: (name: string) => boolean,
    nowMs: number,
  ): { spool: string[]; blobs: string[] } {
    const removed = { spool: [] as string[], blobs: [] as string[] };
    for (const name of readdirSync(this.spoolDir)) {
      const path = join(this.spoolDir, name);
      if (tryRemove(path, name, nowMs)) removed.spool.push(name);
    }
    for (const name of readdirSync(this.blobDir)) {
      if (isReferenced(name)) continue;
      if (tryRemove(join(this.blobDir, name), name, nowMs)) removed.blobs.push(name);
    }
    return removed;
  }
}

function tryRemove(path: string, name: string, nowMs: number): boolean {
  try {
    const st = statSync(path);
    if (!st.isFile() || !isOrphanCandidate(name, st.mtimeMs, nowMs)) return false;
    unlinkSync(path);
    return true;
  } catch {
    return false; // vanished meanwhile (its owner moved it): not ours to report
  }
}
