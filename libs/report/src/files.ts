import { appendFileSync, mkdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

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
    mkdirSync(dirname(path), { recursive: true });
    if (keepBytes === undefined) writeFileSync(path, '');
    else truncateSync(path, keepBytes);
    this.bytes = keepBytes ?? 0;
  }

  write(record: object): void {
    const line = JSON.stringify(record) + '\n';
    appendFileSync(this.path, line);
    this.bytes += Buffer.byteLength(line);
  }
}

/** Writes pretty JSON atomically (temp file + rename): readers never see half a file. */
export function writeJsonFile(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}
