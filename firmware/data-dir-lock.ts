import fs from 'node:fs';
import path from 'node:path';

/**
 * One reader process per data directory. Two processes appending to one flash image
 * overwrite each other's records, so the directory is claimed before the flash is opened:
 * DIR/reader.lock holds the owner's pid. The file is linked into place whole (link(2) fails
 * if the name exists), so nobody ever reads a half-written lock.
 */
export const LOCK_FILE = 'reader.lock';
/** A site's readers live in DATA/readers/ID/, all held by the one lock of DATA. */
export const READERS_DIR = 'readers';

/** The directory is held by another live process. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: number,
  ) {
    super(
      `data directory ${dir} is in use by another reader-sim (pid ${holder}); ` +
        `stop it first (lock ${path.join(dir, LOCK_FILE)})`,
    );
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  dir: string;
  /** Removes the lock, if it is still ours. Idempotent. */
  release(): void;
}

/** Directories this process holds: a lock naming our own pid but not in here is a leftover. */
const held = new Set<string>();

/**
 * Claims `dir` for this process: creates it (mode 0700), tightens it to 0700, and takes the
 * lock. A lock whose pid is no longer alive (a killed reader) is taken over; a live holder
 * is a DataDirInUseError naming its pid.
 */
export function claimDataDir(dir: string): DataDirLock {
  const resolved = path.resolve(dir);
  fs.mkdirSync(resolved, { recursive: true, mode: 0o700 });
  // Everything under it is the reader's: the flash image holds the PIN key. A directory
  // someone else owns (a shared mount) cannot be tightened by us; its owner decides.
  try {
    fs.chmodSync(resolved, 0o700);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
  // A site reader's folder is its site's: a second process on it would share the flash image.
  if (path.basename(path.dirname(resolved)) === READERS_DIR) {
    const site = path.dirname(path.dirname(resolved));
    const holder = liveHolder(site);
    if (holder !== undefined) throw new DataDirInUseError(site, holder);
  }
  const lockPath = path.join(resolved, LOCK_FILE);
  const mine = `${process.pid}\n`;
  const staging = path.join(resolved, `${LOCK_FILE}.${process.pid}`);
  fs.writeFileSync(staging, mine, { mode: 0o600 });
  try {
    // Twice at most: once as it is, once after clearing a stale lock.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.linkSync(staging, lockPath);
        held.add(resolved);
        return lockHandle(resolved, lockPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readHolder(lockPath);
      if (holder !== undefined && isAlive(holder, resolved)) {
        throw new DataDirInUseError(resolved, holder);
      }
      clearStale(resolved, lockPath, holder);
    }
    const holder = readHolder(lockPath);
    throw new DataDirInUseError(resolved, holder ?? -1);
  } finally {
    fs.rmSync(staging, { force: true });
  }
}

function lockHandle(dir: string, lockPath: string): DataDirLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.delete(dir);
    process.off('exit', release);
    // Only our own lock: never remove one a successor took over.
    if (readHolder(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
  };
  // A process that ends without shutting down (an uncaught error) still lets go.
  process.on('exit', release);
  return { dir, release };
}

/** The live process (this one included) holding `dir`, if any. */
export function liveHolder(dir: string): number | undefined {
  const resolved = path.resolve(dir);
  const holder = readHolder(path.join(resolved, LOCK_FILE));
  return holder !== undefined && isAlive(holder, resolved) ? holder : undefined;
}

/** The pid in a lock file; undefined when it is gone or does not hold one. */
function readHolder(lockPath: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const match = /^([1-9][0-9]{0,9})\n?$/.exec(text);
  return match ? Number(match[1]) : undefined;
}

function isAlive(pid: number, dir: string): boolean {
  // Our own pid without our own claim: a previous run of a process that got the same pid
  // (a container's pid 1 after a restart).
  if (pid === process.pid) return held.has(dir);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, only someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes a dead holder's lock. Two processes may find the same stale lock at once: each
 * renames it to a name of its own first (only one rename can take the file), then checks it
 * took the dead holder's lock and not a live one just linked by the other.
 */
function clearStale(dir: string, lockPath: string, holder: number | undefined): void {
  const aside = path.join(dir, `${LOCK_FILE}.stale.${process.pid}`);
  try {
    fs.renameSync(lockPath, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const taken = readHolder(aside);
  if (taken !== holder && taken !== undefined && isAlive(taken, dir)) {
    // We moved a live lock aside: put it back unless someone else claimed the name meanwhile.
    try {
      fs.linkSync(aside, lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    fs.rmSync(aside, { force: true });
    throw new DataDirInUseError(dir, taken);
  }
  fs.rmSync(aside, { force: true });
}
