/**
 * Store — the embedded database's data folder on disk: what state it is in, who holds it, and how
 * a new one is filled from a pristine template instead of running initdb.
 *
 * PGlite does not stop two instances from opening the same folder (checked: both open, both write
 * the same files, each sees only its own rows). A lock file with the holder's pid refuses the
 * second opener, in this process or another; a lock left by a dead process is taken over.
 */
import {
  constants,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FirebreakError } from '../common/errors';

/** Present while a template copy is under way; PG_VERSION is copied last, then this goes. */
export const COPY_MARKER = '.firebreak-template-copy';
export const LOCK_FILE = '.firebreak-lock';
/** Our own files in a data folder (marker, lock, a stale lock being removed) start with this. */
const OWN_PREFIX = '.firebreak-';

export type DataFolderState =
  /** Holds a database (PG_VERSION is there). */
  | 'database'
  /** Missing, or holds nothing but our own lock. */
  | 'empty'
  /** A template copy that never finished: nothing of the user's can be in it. */
  | 'interrupted-copy'
  /** Holds files that are not a database: we will not write into it. */
  | 'foreign';

export function inspectDataFolder(dir: string): DataFolderState {
  if (!existsSync(dir)) return 'empty';
  const entries = readdirSync(dir);
  if (entries.includes('PG_VERSION')) return 'database';
  if (entries.includes(COPY_MARKER)) return 'interrupted-copy';
  return entries.every((name) => name.startsWith(OWN_PREFIX)) ? 'empty' : 'foreign';
}

/** Empties a folder that `inspectDataFolder` called `interrupted-copy`, keeping our lock. */
export function clearInterruptedCopy(dir: string): void {
  if (inspectDataFolder(dir) !== 'interrupted-copy') {
    throw new FirebreakError('ERR_STORE', `refusing to clear ${dir}: it is not an interrupted template copy`);
  }
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(OWN_PREFIX)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  rmSync(join(dir, COPY_MARKER), { force: true });
}

/**
 * Fills an empty data folder with a copy of a pristine PGDATA folder. Crash-safe: PGlite treats a
 * folder as a database once PG_VERSION exists, and that file is copied last; until then the
 * marker says the folder may be cleared.
 */
export function fillFromTemplate(dir: string, templateDir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, COPY_MARKER), `${templateDir}\n`);
  const version = join(templateDir, 'PG_VERSION');
  cpSync(templateDir, dir, {
    recursive: true,
    // Copy-on-write clones where the file system has them (btrfs, XFS, APFS); a plain copy elsewhere.
    mode: constants.COPYFILE_FICLONE,
    filter: (source) => source !== version,
  });
  copyFileSync(version, join(dir, 'PG_VERSION'));
  rmSync(join(dir, COPY_MARKER));
}

interface LockContent {
  pid: number;
  host: string;
  since: string;
}

export interface DataFolderLock {
  release(): void;
}

/**
 * Takes the folder's lock file (creating the folder if needed), or throws `ERR_STORE` (retryable)
 * when a live process on this host holds it. A lock from a dead pid, or from another host (a
 * recreated container), is stale and taken over.
 */
export function lockDataFolder(dir: string): DataFolderLock {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const mine: LockContent = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${JSON.stringify(mine)}\n`, { flag: 'wx' });
      return {
        release() {
          const current = readLock(file);
          if (current?.pid === mine.pid && current.since === mine.since) rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new FirebreakError('ERR_STORE', `cannot lock data folder ${dir}`, { cause: error });
      }
    }
    const holder = readLock(file);
    if (holder === undefined ? isFresh(file) : holder.host === mine.host && isAlive(holder.pid)) {
      throw new FirebreakError(
        'ERR_STORE',
        `data folder ${dir} is in use by process ${holder?.pid ?? '(starting)'}; stop it first, or remove ${file} if that process is not Firebreak`,
        { retryable: true, details: { dataDir: dir, holder: holder ?? null } },
      );
    }
    // Stale. Move it aside and check that what moved is the lock judged stale, not one that another
    // process took in the meantime (then put that one back).
    const aside = `${file}.stale-${process.pid}`;
    try {
      renameSync(file, aside);
    } catch {
      continue; // someone else moved it first
    }
    const moved = readLock(aside);
    if (moved?.pid === holder?.pid && moved?.since === holder?.since) rmSync(aside, { force: true });
    else renameSync(aside, file);
  }
  throw new FirebreakError('ERR_STORE', `cannot lock data folder ${dir}: another process keeps taking it`, {
    retryable: true,
  });
}

function readLock(file: string): LockContent | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockContent;
  } catch {
    return undefined;
  }
}

/** An unreadable lock is being written right now, unless it has been unreadable for a while. */
function isFresh(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs < 5_000;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
