import { appendFileSync, mkdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A run file that cannot be written (permissions, a full or read-only disk): one line naming the file and why. */
export class DiskError extends Error {
  override name = 'DiskError';
}

const DISK_CAUSES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
};

/** `fn`, with a file system error turned into a DiskError naming `path` (other errors pass as they are). */
export function writingTo<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw err;
    throw new DiskError(`cannot write ${path}: ${code}${DISK_CAUSES[code] ? ` (${DISK_CAUSES[code]})` : ''}`);
  }
}

/**
 * Appends one JSON object per line and flushes each line to the OS before returning,
 * so a run that fails or is killed keeps every record written so far.
 */
export class JsonlWriter {
  /** Bytes in the file so far (what a checkpoint records, to cut the file back to on resume). */
  bytes = 0;

  /** `keepBytes`: continue an existing file, cut to its first keepBytes bytes (resume); else start empty. */
  constructor(
    readonly path: string,
    keepBytes?: number,
  ) {
    writingTo(path, () => {
      mkdirSync(dirname(path), { recursive: true });
      if (keepBytes === undefined) writeFileSync(path, '');
      else truncateSync(path, keepBytes);
    });
    this.bytes = keepBytes ?? 0;
  }

  write(record: object): void {
    const line = JSON.stringify(record) + '\n';
    writingTo(this.path, () => appendFileSync(this.path, line));
    this.bytes += Buffer.byteLength(line);
  }
}

/** Writes pretty JSON atomically (temp file + rename): readers never see half a file. */
export function writeJsonFile(path: string, value: unknown): void {
  writingTo(path, () => {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
    writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
    renameSync(tmp, path);
  });
}
