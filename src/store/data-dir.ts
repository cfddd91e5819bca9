// data_dir set-up: made one level at a time (Node's recursive mkdir spins forever on /proc), checked usable, and kept private (0700/0600).
import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  statfsSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { MailroomError } from '../errors.js';

/** Folders under data_dir: the server's user alone may list or enter them. */
export const PRIVATE_DIR_MODE = 0o700;
/** Files under data_dir (mailroom.db and its -wal/-shm, blobs, spool, the TLS key): owner read/write only. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Pseudo file systems (statfs f_type, linux/magic.h) that accept no data files, or whose files vanish
 * or mean something else: proc, sysfs, cgroup v1/v2, debugfs, securityfs, devpts, configfs, tracefs.
 */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x73636673, 'securityfs'],
  [0x1cd1, 'devpts'],
  [0x62656570, 'configfs'],
  [0x74726163, 'tracefs'],
]);

/** Why an errno means the folder cannot be used, in words for the one error line. */
function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    ENOTDIR: 'a part of the path is a file, not a folder',
    ELOOP: 'too many symbolic links',
    ENAMETOOLONG: 'path too long',
  };
  const word = words[code];
  if (word) return `${word} (${code})`;
  return code !== '' ? code : ((error as Error).message ?? String(error));
}

function fail(dataDir: string, reason: string): never {
  throw new MailroomError('DATA_DIR', `data_dir ${dataDir}: ${reason}`);
}

/**
 * Makes `dir` and any missing parents (mode 0700). Node's `mkdirSync(p, { recursive: true })` treats
 * ENOENT as "parent missing", makes the parent (EEXIST: fine) and retries forever when the file
 * system answers ENOENT for a folder whose parent exists - /proc does, so `data_dir = "/proc/nope"`
 * hung every command at 100% CPU (issue 8 item 9). Here an ENOENT
 * once the parent exists is final.
 */
function makeDirs(dataDir: string, dir: string): void {
  let found: ReturnType<typeof statSync> | null = null;
  try {
    found = statSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') fail(dataDir, 'a part of its path is a file, not a folder');
    if (code !== 'ENOENT') fail(dataDir, `cannot use ${dir}: ${describe(error)}`);
  }
  if (found) {
    if (!found.isDirectory())
      fail(dataDir, dir === dataDir ? 'is a file, not a folder' : `${dir} is a file, not a folder`);
    return;
  }
  const parent = dirname(dir);
  if (parent === dir) fail(dataDir, `cannot use ${dir}`); // the root itself missing: nothing to make it in
  makeDirs(dataDir, parent);
  try {
    mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statSync(dir).isDirectory()) return; // made by another process meanwhile
    const why = code === 'ENOENT' ? `this file system allows no folder here (ENOENT)` : describe(error);
    fail(dataDir, `cannot create ${dir === dataDir ? 'it' : dir}: ${why}`);
  }
}

/**
 * Makes data_dir if needed and proves it usable before anything else touches it: a folder, not on a
 * pseudo file system, and writable (a probe file is created and removed: this catches read-only
 * mounts, permissions and full disks alike, which access(2) alone does not). Any problem is one
 * MailroomError line naming data_dir and the reason; the CLI prints it and exits 1.
 */
export function prepareDataDir(dataDir: string): void {
  makeDirs(dataDir, dataDir);
  let fsType: number | null = null;
  try {
    fsType = Number(statfsSync(dataDir).type);
  } catch {
    fsType = null; // statfs unsupported here: the probe below still decides
  }
  const pseudo = fsType === null ? undefined : PSEUDO_FS.get(fsType);
  if (pseudo) fail(dataDir, `is on the ${pseudo} pseudo file system, which cannot hold data`);
  const probe = join(dataDir, `.mailroom-probe-${process.pid}`);
  try {
    const fd = openSync(probe, 'wx', PRIVATE_FILE_MODE);
    try {
      writeSync(fd, 'ok');
    } finally {
      closeSync(fd);
    }
    unlinkSync(probe);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      unlinkSync(probe); // a leftover of a crashed process with our pid; next start succeeds
    }
    fail(dataDir, `not writable: ${describe(error)}`);
  }
}

/**
 * Makes everything under data_dir private to the server's user: folders 0700, files without group
 * or other bits (0600 for what we write). Data written by older versions (umask 022: 0644 and 0755)
 * is fixed in place. Symbolic links are not followed (an admin may link blobs/ elsewhere on purpose;
 * chmod on a link would change its target). Returns the paths changed, relative to data_dir.
 */
export function fixDataDirModes(dataDir: string): string[] {
  const fixed: string[] = [];
  const visit = (path: string): void => {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return; // removed meanwhile (a spool file finishing): nothing to fix
    }
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      const want = (mode & 0o700) | PRIVATE_DIR_MODE;
      if (mode !== want) {
        chmodSync(path, want);
        fixed.push(relative(dataDir, path) || '.');
      }
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (st.isFile()) {
      const want = mode & 0o700;
      if (mode !== want) {
        chmodSync(path, want);
        fixed.push(relative(dataDir, path));
      }
    }
  };
  visit(dataDir);
  return fixed;
}
