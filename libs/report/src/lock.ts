import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writingTo } from './files';

/** The lock file a writer of a run (or sweep) directory holds while it writes there. */
export const LOCK_FILE = '.shardlab.lock';

/** A directory another live process is writing: the message names it, its command and since when. */
export class DirectoryLocked extends Error {
  override name = 'DirectoryLocked';
}

interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

/** Whether process `pid` of this host is alive (signal 0 checks without sending). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `dir` for this process until release(): a second writer (a `--resume` of a run still going, two sweeps
 * into one directory) is refused, naming the process that holds it, instead of both corrupting each other's
 * files. A lock left by a process that died (kill -9) is taken over. Another host's lock (a shared file system)
 * is never taken over: the message says which file to delete once that run is known to be over.
 */
export function lockDirectory(dir: string, command: readonly string[] = process.argv.slice(1)): { release(): void } {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), command: command.join(' '), since: new Date().toISOString() };
  writingTo(dir, () => mkdirSync(dir, { recursive: true }));
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return writingTo(path, () => { throw err; });
      let owner: LockOwner | null = null;
      try {
        owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
      } catch {
        owner = null; // half-written by a process that died at once: stale
      }
      if (owner && owner.host !== me.host) {
        throw new DirectoryLocked(`${dir} is being written by process ${owner.pid} on ${owner.host} (${owner.command}) since ${owner.since}; if that run is over, delete ${path}`);
      }
      if (owner && owner.pid !== process.pid && alive(owner.pid)) {
        throw new DirectoryLocked(`${dir} is being written by process ${owner.pid} (${owner.command}) since ${owner.since}; wait for it to end, or stop it first`);
      }
      rmSync(path, { force: true }); // stale: its process is gone
      continue;
    }
    writingTo(path, () => {
      writeSync(fd, JSON.stringify(me) + '\n');
      closeSync(fd);
    });
    return {
      release: () => {
        try {
          const owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
          if (owner.pid === process.pid) rmSync(path, { force: true });
        } catch {
          // already gone
        }
      },
    };
  }
  throw new DirectoryLocked(`${dir}: could not take ${path} (another process takes it at the same time)`);
}
